"""Each track runs its own artifact on the local runtime: a second command as the canary
beside the demo, promoted, rolled back, and a deploy that replaces stable — all under
keep-alive load with 0 failed requests; commands that are missing or never healthy are
refused before traffic moves."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle_support import Load, Project, make_project

pytestmark = pytest.mark.integration

FAKE_SERVICE = Path(__file__).resolve().parent / "fake_service.py"
SECOND = [sys.executable, str(FAKE_SERVICE), "{socket}"]


@pytest.fixture
def release(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    control = tmp_path / "control"
    control.mkdir()
    project = make_project(tmp_path, port, nginx_bin, env={"FAKE_CONTROL_DIR": str(control)})
    try:
        yield project
    finally:
        project.teardown_and_check()


def set_command(project: Project, command: list[str] | None) -> None:
    """Edit manifest.yaml as an operator would: the desired release's command."""
    text = project.manifest.read_text().split("\nlocal:\n")[0].rstrip("\n") + "\n"
    if command is not None:
        text += f"local:\n  command: {json.dumps(command)}\n"
    project.manifest.write_text(text)


def track_artifact(project: Project, track: str) -> dict[str, str]:
    state = project.state()
    instances = state["instances"]
    assert isinstance(instances, dict)
    artifact = instances[state[track]]["artifact"]
    assert isinstance(artifact, dict)
    return artifact


def answers(project: Project, pin: str) -> str:
    """Which code answered `/` on a pinned track: the demo's welcome, or the second command."""
    body = project.get("/", **{"X-Canary": pin}).json()
    return "demo" if "message" in body else "second"


def test_a_second_command_as_canary_is_promoted_and_rolled_back(release: Project) -> None:
    project = release
    project.ok("deploy")
    with Load(project.port) as load:
        demo = track_artifact(project, "stable")
        assert demo["ref"] == "python -m swiftdeploy.demo"
        assert demo["id"].startswith("sha256:")

        set_command(project, SECOND)
        out = project.ok("promote", "canary", "--version", "1.1.0")
        assert "1.1.0" in out
        canary = track_artifact(project, "canary")
        assert str(FAKE_SERVICE) in canary["ref"]
        assert canary["version"] == "1.1.0"
        assert track_artifact(project, "stable") == demo  # stable keeps what it started with
        assert answers(project, "always") == "second"
        assert answers(project, "never") == "demo"
        status = json.loads(project.ok("status", "--json", "--once", "--interval", "0.2"))
        named = {t["track"]: t["artifact"] for t in status["tracks"]}
        assert named["stable"].startswith("python -m swiftdeploy.demo (")
        assert named["canary"].endswith(" v1.1.0")

        rolled = project.ok("rollback")
        assert "manifest.yaml set back to what stable runs" in rolled, rolled
        assert "local:" not in project.manifest.read_text()
        assert 'version: "1.0.0"' in project.manifest.read_text()
        assert track_artifact(project, "stable") == demo
        assert answers(project, "always") == "demo"

        set_command(project, SECOND)
        project.ok("promote", "canary", "--version", "1.1.0")
        project.ok("promote", "stable", "--window", "2")
        assert track_artifact(project, "stable")["ref"] == canary["ref"]
        assert answers(project, "never") == "second"
        assert answers(project, "always") == "second"
    assert load.total >= 50
    assert load.failures == 0, (load.statuses, load.errors[:3])
    events = [e for e in project.history() if e["type"] in ("promote", "rollback")]
    assert all("artifacts" in e for e in events)
    assert events[-1]["artifacts"]["stable"]["ref"] == canary["ref"]  # type: ignore[index]


def test_deploy_replaces_stable_when_the_manifest_names_another_command(
    release: Project,
) -> None:
    project = release
    project.ok("deploy")
    old = track_artifact(project, "stable")
    assert "already running" in project.ok("deploy")  # nothing differs: a no-op
    set_command(project, SECOND)
    planned = project.ok("deploy", "--dry-run")
    assert "would replace stable python -m swiftdeploy.demo (" in planned, planned
    assert track_artifact(project, "stable") == old
    with Load(project.port) as load:
        out = project.ok("deploy")
    assert "stable replaced" in out, out
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert str(FAKE_SERVICE) in track_artifact(project, "stable")["ref"]
    assert project.state()["canary"] is None
    assert answers(project, "never") == "second"
    assert "already running" in project.ok("deploy")
    deploys = [e for e in project.history() if e["type"] == "deploy"]
    assert deploys[-2]["replaced"]


def test_a_missing_command_is_refused_before_anything_changes(release: Project) -> None:
    project = release
    project.ok("deploy")
    before = project.state()
    set_command(project, ["no-such-command-for-swiftdeploy"])
    result = project.run("promote", "canary")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "command no-such-command-for-swiftdeploy not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # one line (and maybe its hint)
    assert project.state() == before


def test_a_canary_that_never_becomes_healthy_is_stopped_with_its_reason(
    release: Project,
) -> None:
    project = release
    project.ok("deploy")
    stable = track_artifact(project, "stable")
    set_command(project, [sys.executable, "-c", "print('cannot start: no config'); exit(3)"])
    with Load(project.port) as load:
        result = project.run("promote", "canary")
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "did not become healthy" in said, said
    assert "cannot start: no config" in said, said
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert project.state()["canary"] is None
    assert track_artifact(project, "stable") == stable
    (failed,) = [e for e in project.history() if e["type"] == "health_failed"]
    assert failed["track"] == "canary"
    assert "cannot start: no config" in " ".join(failed["log_tail"])  # type: ignore[arg-type]
    assert answers(project, "always") == "demo"
