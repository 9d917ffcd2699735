"""Supervision on the local runtime: a killed instance is restarted on its socket (real
nginx, real service processes, loopback), `services.restart: no` leaves it down, and a
killed supervisor is restarted by the next `deploy`."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from lifecycle_support import Project, make_project, running

pytestmark = pytest.mark.integration


def stable_pid(project: Project) -> int:
    state = project.state()
    instances = state["instances"]
    assert isinstance(instances, dict)
    return int(instances[state["stable"]]["pid"])


def supervisor_pid(project: Project) -> int | None:
    path = project.root / ".swiftdeploy" / "supervisor" / "supervisor.pid"
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if running(pid) else None


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def answers_200(project: Project) -> bool:
    try:
        return project.get("/").status_code == 200
    except httpx.HTTPError:
        return False


def restarts_line(project: Project) -> str:
    """The Restarts line of `status --once`'s plain lines."""
    lines = project.ok("status", "--once", "--interval", "0.2").splitlines()
    found = [line for line in lines if line.startswith("  Restarts   : ")]
    assert len(found) == 1, lines
    return found[0]


@pytest.fixture
def no_restart(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    proj = make_project(tmp_path, port, nginx_bin)
    text = proj.manifest.read_text().replace("services:\n", "services:\n  restart: no\n", 1)
    proj.manifest.write_text(text)
    try:
        yield proj
    finally:
        proj.teardown_and_check()


def test_a_killed_stable_is_restarted_on_its_socket(project: Project) -> None:
    out = project.ok("deploy")
    assert "stable" in out
    assert supervisor_pid(project) is not None
    assert answers_200(project)
    assert restarts_line(project) == "  Restarts   : stable 0"
    first = stable_pid(project)
    os.kill(first, signal.SIGKILL)

    assert wait_for(lambda: stable_pid(project) != first), project.state()
    assert wait_for(lambda: answers_200(project)), "nginx did not answer 200 after the restart"
    events = [e for e in project.history() if e["type"] == "instance_restarted"]
    assert len(events) == 1, events
    payload = events[0]
    assert payload["track"] == "stable"
    assert payload["previous_pid"] == first
    assert payload["attempt"] == 1
    assert payload["backoff_s"] == 0.5
    status = json.loads(project.ok("status", "--json", "--once", "--interval", "0.2"))
    assert status["mode"] != "down"
    assert [(t["track"], t["restarts"]) for t in status["tracks"]] == [("stable", 1)]

    # A second crash, now of the supervisor's own child: its signal is known.
    second = stable_pid(project)
    os.kill(second, signal.SIGKILL)
    assert wait_for(lambda: stable_pid(project) != second)
    assert wait_for(lambda: answers_200(project))
    events = [e for e in project.history() if e["type"] == "instance_restarted"]
    payload = events[-1]
    assert payload["signal"] == signal.SIGKILL
    assert payload["exit"] == "killed by SIGKILL"
    assert payload["attempt"] == 2
    assert payload["backoff_s"] == 1.0
    assert restarts_line(project) == "  Restarts   : stable 2"
    (sampled, *_) = [e for e in reversed(project.history()) if e["type"] == "status_sample"]
    assert sampled["restarts"] == {"stable": 2}  # the history keeps what status showed
    # teardown (the fixture) checks that neither the instance nor the supervisor survives


def test_restart_no_leaves_a_killed_instance_down(no_restart: Project) -> None:
    project = no_restart
    project.ok("deploy")
    assert supervisor_pid(project) is not None
    first = stable_pid(project)
    os.kill(first, signal.SIGKILL)
    time.sleep(3)  # six ticks of the supervisor
    assert stable_pid(project) == first
    assert not running(first)
    assert not any(e["type"] == "instance_restarted" for e in project.history())
    with httpx.Client(timeout=10) as client:
        assert client.get(f"http://127.0.0.1:{project.port}/").status_code == 502


def test_a_killed_supervisor_is_restarted_by_the_next_deploy(project: Project) -> None:
    project.ok("deploy")
    pid = supervisor_pid(project)
    assert pid is not None
    assert "already running; nothing to change" in project.ok("deploy")  # adopted
    assert supervisor_pid(project) == pid
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not running(pid))
    out = project.ok("deploy")
    assert "already running; restarted the supervisor (pid " in out, out
    again = supervisor_pid(project)
    assert again is not None
    assert again != pid
    first = stable_pid(project)
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: stable_pid(project) != first)
    assert wait_for(lambda: answers_200(project))


def test_a_canary_restarted_during_a_step_fails_its_analysis(project: Project) -> None:
    import subprocess

    from ruamel.yaml import YAML

    from lifecycle_support import Load

    yaml = YAML()
    document = yaml.load(project.manifest.read_text())
    document["canary"] = {"steps": [20, 50, 100], "interval": "3s", "max_failed_checks": 1}
    with project.manifest.open("w") as handle:
        yaml.dump(document, handle)
    data = project.root / "policies" / "canary" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "min_requests": 20}))
    rollout = project.root / ".swiftdeploy" / "rollout.json"

    def step() -> int:
        try:
            return int(json.loads(rollout.read_text()).get("step", -1))
        except (OSError, ValueError):
            return -1

    project.ok("deploy")
    with Load(project.port, threads=4):
        proc = subprocess.Popen(
            project.argv("promote", "canary", "--version", "2.0.0"),
            env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert wait_for(lambda: step() == 1, timeout=60)
        time.sleep(0.5)  # inside step 2's analysis window
        state = project.state()
        instances = state["instances"]
        assert isinstance(instances, dict)
        canary = int(instances[state["canary"]]["pid"])
        os.kill(canary, signal.SIGKILL)
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    assert "rolled back" in output
    failed = [
        e for e in project.history() if e["type"] == "rollout_analysis" and e["verdict"] == "fail"
    ]
    assert failed, output
    assert failed[-1]["reasons"] == ["the canary restarted once in the last window"], failed
    assert any(e["type"] == "instance_restarted" for e in project.history())
