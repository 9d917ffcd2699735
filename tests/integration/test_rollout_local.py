"""Progressive canary on the local runtime: steps, analysis, automatic rollback, controls.

Rollouts run as real CLI subprocesses against the real nginx and service processes;
the analysis interval is shortened so each rollout takes seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from ruamel.yaml import YAML

from lifecycle_support import Load, Project, http_server, served_by

pytestmark = pytest.mark.integration


def configure(project: Project, canary: dict[str, Any], **sections: Any) -> None:
    """Add a canary section (and others) to the manifest and a smaller sample size."""
    yaml = YAML()
    document = yaml.load(project.manifest.read_text())
    document["canary"] = canary
    for key, value in sections.items():
        document[key] = value
    with project.manifest.open("w") as handle:
        yaml.dump(document, handle)
    data = project.root / "policies" / "canary" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "min_requests": 20}))


def start_rollout(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "swiftdeploy", "-f", str(project.manifest), "promote", *args],
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def rollout_state(project: Project) -> dict[str, Any]:
    path = project.root / ".swiftdeploy" / "rollout.json"
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return loaded


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def finish(proc: subprocess.Popen[str], timeout: float = 120.0) -> tuple[int, str]:
    output, _ = proc.communicate(timeout=timeout)
    return proc.returncode, output


def phases(project: Project) -> list[str]:
    return [str(e["phase"]) for e in project.history() if e["type"] == "rollout"]


class Receiver(BaseHTTPRequestHandler):
    events: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.events.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    events: list[dict[str, Any]] = []
    handler = type("Handler", (Receiver,), {"events": events})
    with http_server(handler) as url:
        yield f"{url}/hook", events


def test_healthy_canary_walks_every_step_and_becomes_stable(
    project: Project, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, events = webhook
    configure(
        project,
        {"steps": [25, 50, 100], "interval": "2s", "max_failed_checks": 1},
        notify={"webhook": [url]},
    )
    project.ok("deploy")
    with Load(project.port, threads=3) as load:
        code, output = finish(start_rollout(project, "canary", "--version", "2.0.0"))
    assert code == 0, output
    assert "version 2.0.0 is now stable" in output
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert rollout_state(project)["phase"] == "promoted"
    verdicts = [e["verdict"] for e in project.history() if e["type"] == "rollout_analysis"]
    assert verdicts == ["pass", "pass", "pass"]
    after = project.get("/")
    assert served_by(after) == "stable"
    assert after.json()["version"] == "2.0.0"
    wait_for(lambda: any(e["phase"] == "promoted" for e in events), timeout=10)
    assert events[0]["phase"] == "progressing"
    assert set(events[-1]) == {"name", "phase", "message", "type", "timestamp", "history_head"}
    seq, digest = str(events[-1]["history_head"]).split(":")
    assert {"seq": int(seq), "hash": digest}.items() <= {
        k: v for e in project.history() if e["seq"] == int(seq) for k, v in e.items()
    }.items()


@pytest.mark.parametrize(
    ("chaos", "reason"),
    [(("error", "--rate", "0.5"), "Error rate"), (("slow", "--duration", "0.55"), "P99 latency")],
)
def test_a_canary_that_breaks_at_step_two_is_rolled_back_with_evidence(
    project: Project, chaos: tuple[str, ...], reason: str
) -> None:
    configure(project, {"steps": [20, 50, 100], "interval": "3s", "max_failed_checks": 1})
    project.ok("deploy")
    with Load(project.port, threads=8):
        proc = start_rollout(project, "canary", "--version", "2.0.0")
        # Hold the rollout at step 2 while the chaos lands, so the next window sees it
        # whatever the host's load does to timing.
        wait_for(lambda: rollout_state(project).get("step") == 1)
        project.ok("promote", "--pause")
        wait_for(lambda: rollout_state(project).get("phase") == "paused")
        project.ok("chaos", *chaos)
        project.ok("promote", "--resume")
        code, output = finish(proc)
    assert code == 1, output  # the release did not happen: a CI job must see a failure
    assert "rolled back" in output
    assert rollout_state(project)["phase"] == "rolled_back"
    failed = [
        e for e in project.history() if e["type"] == "rollout_analysis" and e["verdict"] == "fail"
    ]
    assert failed
    assert any(reason in r for r in failed[-1]["reasons"])  # type: ignore[attr-defined]
    evidence = failed[-1]["evidence"]
    assert isinstance(evidence, dict)
    assert {"canary", "stable", "figures"} <= set(evidence)
    assert served_by(project.get("/")) == "stable"
    assert project.get("/").json()["version"] == "1.0.0"
    assert project.state()["canary"] is None


def test_too_little_traffic_holds_the_rollout_then_aborts_at_the_deadline(
    project: Project,
) -> None:
    configure(project, {"steps": [50, 100], "interval": "1s", "progress_deadline": "3s"})
    project.ok("deploy")
    code, output = finish(start_rollout(project, "canary", "--version", "2.0.0"))
    assert code == 1, output
    assert "INCONCLUSIVE" in output
    assert rollout_state(project)["phase"] == "aborted"
    assert rollout_state(project)["step"] == 0, "a rollout must never advance on no data"
    assert phases(project)[-2:] == ["inconclusive", "aborted"]
    assert project.get("/").json()["version"] == "1.0.0"


def test_pause_set_weight_resume_and_abort_steer_a_running_rollout(project: Project) -> None:
    configure(project, {"steps": [10, 50, 100], "interval": "2s"})
    project.ok("deploy")
    with Load(project.port, threads=2):
        proc = start_rollout(project, "canary", "--version", "2.0.0")
        wait_for(lambda: rollout_state(project).get("phase") == "progressing")
        project.ok("promote", "--pause")
        wait_for(lambda: rollout_state(project).get("phase") == "paused")
        status = project.ok("status", "--once", "--interval", "0.5")
        assert "Rollout" in status
        assert "(paused)" in status
        project.ok("promote", "--set-weight", "30")
        wait_for(lambda: project.state().get("canary_weight") == 30)
        project.ok("promote", "--resume")
        wait_for(lambda: rollout_state(project).get("phase") == "progressing")
        project.ok("promote", "--abort")
        code, output = finish(proc)
    assert code == 1, output
    assert rollout_state(project)["phase"] == "aborted"
    assert {"paused", "progressing", "aborted"} <= set(phases(project))
    assert served_by(project.get("/")) == "stable"
    second = project.run("promote", "--pause")
    assert second.returncode == 2
    assert "no rollout is in progress" in second.stderr


def test_a_killed_rollout_resumes_where_it_stopped(project: Project) -> None:
    configure(project, {"steps": [20, 60, 100], "interval": "2s"})
    project.ok("deploy")
    with Load(project.port, threads=3) as load:
        proc = start_rollout(project, "canary", "--version", "2.0.0")
        wait_for(lambda: rollout_state(project).get("step") == 1)
        proc.send_signal(signal.SIGKILL)
        finish(proc, timeout=10)
        resumed = project.run("promote", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Resuming the rollout: step 2/3" in resumed.stdout
    assert rollout_state(project)["phase"] == "promoted"
    assert project.get("/").json()["version"] == "2.0.0"
    assert load.failures == 0, (load.statuses, load.errors[:3])
