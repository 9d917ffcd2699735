"""The release lifecycle on the local runtime: the real nginx and real service processes.

Each test gets its own project folder and loopback port, drives the CLI as a subprocess
(exactly as an operator would) and always tears the deployment down.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from kill_after_start import killed_after_start
from lifecycle_support import Load, Project, running, served_by

pytestmark = pytest.mark.integration

DRAIN_S = 70  # the local runtime drains an instance for up to 65 s before it kills it


def test_seed_flow_gates_the_canary_on_its_live_metrics(project: Project) -> None:
    out = project.ok("deploy")
    assert "[PASS] Infrastructure policy" in out
    first = project.get("/")
    assert first.status_code == 200
    assert served_by(first) == "stable"
    assert first.headers["X-Deployed-By"] == "swiftdeploy"
    assert first.json()["message"] == "Welcome to SwiftDeploy [stable]"

    project.ok("promote", "canary")
    assert served_by(project.get("/")) == "canary"
    assert "mode: canary" in project.manifest.read_text()
    # The one-shot canary is a single-step rollout that nothing walks: none is left to resume.
    assert not (project.root / ".swiftdeploy" / "rollout.json").exists()
    assert "# the operator's comment survives" in project.manifest.read_text()

    project.ok("chaos", "error", "--rate", "0.5")
    with Load(project.port) as load:
        refused = project.run("promote", "stable", "--window", "3")
    assert load.total >= 50
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "[DENY] Error rate" in refused.stdout
    assert "[BLOCKED] Promotion denied by canary safety policy" in refused.stdout
    assert served_by(project.get("/", **{"X-Canary": "always"})) == "canary"

    recovered = project.ok("chaos", "recover")
    assert "chaos cleared on canary-" in recovered, recovered
    with Load(project.port) as load:
        # The gate judges the window that just passed: let a clean one pass first.
        time.sleep(4)
        project.ok("promote", "stable", "--window", "3")
    assert load.failures == 0, (load.statuses, load.errors[:3])
    after = project.get("/")
    assert served_by(after) == "stable"
    assert "mode: stable" in project.manifest.read_text()

    types = [event["type"] for event in project.history()]
    assert types.count("policy_decision") >= 4
    assert "promote" in types
    assert "chaos" in types


def test_deploy_is_idempotent(project: Project) -> None:
    project.ok("deploy")
    pids = project.state_pids()
    out = project.ok("deploy")
    assert "already running" in out
    assert project.state_pids() == pids


def test_denied_deploy_starts_nothing(project: Project) -> None:
    data = project.root / "policies" / "infra" / "data.json"
    thresholds = json.loads(data.read_text())
    thresholds["min_disk_gb"] = 10_000_000
    data.write_text(json.dumps(thresholds))
    result = project.run("deploy")
    assert result.returncode == 1
    assert "[DENY] Disk free" in result.stdout
    assert "[BLOCKED] Deployment denied by infrastructure policy" in result.stdout
    assert project.state_pids() == set()
    decisions = [e for e in project.history() if e["type"] == "policy_decision"]
    assert decisions
    assert decisions[-1]["allow"] is False
    with pytest.raises(httpx.ConnectError):
        project.get("/")


def test_promote_and_rollback_under_load_drop_nothing(project: Project) -> None:
    project.ok("deploy")
    with Load(project.port) as load:
        for _ in range(2):
            project.ok("promote", "canary")
            time.sleep(0.3)
            project.ok("rollback")
            time.sleep(0.3)
    assert load.total > 100
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert served_by(project.get("/")) == "stable"
    assert project.state()["canary"] is None


def test_killed_promote_is_reconciled_by_the_next_command(project: Project) -> None:
    project.ok("deploy")
    proc = subprocess.Popen(
        [sys.executable, "-m", "swiftdeploy", "-f", str(project.manifest), "promote", "canary"],
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and project.state().get("pending") is None:
        time.sleep(0.01)
    assert project.state().get("pending") == "promote canary"
    instances = project.state()["instances"]
    assert isinstance(instances, dict)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    leftover = {int(r["pid"]) for r in project.state()["instances"].values()}  # type: ignore[union-attr]

    out = project.ok("rollback")
    assert "reconcile" in out
    state = project.state()
    assert state["pending"] is None
    assert state["canary"] is None
    assert served_by(project.get("/")) == "stable"
    survivors = {pid for pid in leftover if running(pid)}
    assert survivors == project.state_pids() - {state["nginx"]["pid"]}  # type: ignore[index]
    assert project.ok("audit", "--verify")


def test_a_second_command_waits_for_the_lock_then_says_who_holds_it(project: Project) -> None:
    project.ok("deploy")
    lock_path = project.root / ".swiftdeploy" / "lock"
    import fcntl

    with lock_path.open("r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("promote stable pid=4242")
        handle.flush()
        result = project.run("rollback")
    assert result.returncode == 1
    assert "holds the lock (promote stable pid=4242)" in result.stderr


def test_status_reports_each_track_and_rule_and_records_samples(project: Project) -> None:
    project.ok("deploy")
    project.ok("promote", "canary")
    project.ok("chaos", "error", "--rate", "1.0")
    with Load(project.port):
        plain = project.ok("status", "--once", "--interval", "1.5")
        as_json = project.ok("status", "--json", "--count", "1", "--interval", "1.5")
    assert "SwiftDeploy Status" in plain
    assert "[FAIL] canary" in plain
    assert "[PASS] infra" in plain
    sample = json.loads(as_json.splitlines()[-1])
    canary = next(t for t in sample["tracks"] if t["track"] == "canary")
    assert canary["available"] is True
    assert canary["error_rate"] == 1.0
    assert canary["chaos"] == "error"
    failing = {r["rule"] for r in sample["policy"] if r["status"] == "FAIL"}
    assert "error_rate" in failing
    samples = [e for e in project.history() if e["type"] == "status_sample"]
    assert len(samples) == 2
    assert samples[-1]["mode"] == "canary"
    assert samples[-1]["policy"]["canary"] == "FAIL"

    stopped = project.ok("teardown")
    assert "stopped nginx (pid " in stopped, stopped
    assert "process(es)" not in stopped
    down = project.run("status", "--once", "--interval", "0.2")
    assert down.returncode == 1, down.stderr  # `status --once` says "down" by its exit code
    assert "mode=down" in down.stdout


def test_dry_run_shows_the_diff_and_the_decision_and_changes_nothing(project: Project) -> None:
    def snapshot() -> tuple[str, int, dict[str, object]]:
        history = project.root / "history.jsonl"
        events = len(history.read_text().splitlines()) if history.exists() else 0
        return project.manifest.read_text(), events, project.state()

    before = snapshot()
    planned = project.ok("deploy", "--dry-run")
    assert "would start stable python -m swiftdeploy.demo (" in planned
    assert ") v1.0.0 and route all traffic to it" in planned
    assert "[PASS] allowed" in planned
    assert snapshot() == before
    assert project.state_pids() == set()

    project.ok("deploy")
    again = project.ok("deploy", "--dry-run")
    assert "would start nothing: the stack is already running" in again, again
    before = snapshot()
    planned = project.ok("promote", "canary", "--dry-run")
    assert "-  mode: stable" in planned
    assert "+  mode: canary" in planned
    assert "nginx.conf would change" in planned  # the rendered file follows services.mode
    assert snapshot() == before

    project.ok("promote", "canary")
    project.ok("chaos", "error", "--rate", "1.0")
    before = snapshot()
    with Load(project.port):
        time.sleep(3)  # the dry run judges the window that just passed, as the gate does
        refused = project.run("promote", "stable", "--dry-run", "--window", "2", "--json")
    assert refused.returncode == 1
    result = json.loads(refused.stdout)
    assert result["dry_run"] is True
    assert result["policy"]["allow"] is False
    assert any("Error rate" in r for r in result["policy"]["reasons"])
    assert snapshot() == before

    planned = project.ok("rollback", "--dry-run")
    assert "would move all traffic to stable" in planned
    assert served_by(project.get("/")) == "canary"
    assert snapshot() == before


def test_a_canary_killed_before_its_pid_was_saved_is_named_by_what_it_runs(
    project: Project,
) -> None:
    """kill -9 between "canary started" and "state saved": the next command finds the canary,
    records the artifact that process really runs, and stops it."""
    from swiftdeploy.lifecycle import Deployment

    project.ok("deploy")
    killed_after_start("local", "canary", project.manifest, "promote", "canary", "--version",
                       "1.1.0", env=project.env, timeout=120)  # fmt: skip
    saved = project.state()
    assert (saved["pending"], saved["canary"]) == ("promote canary", None)
    launches = project.root / ".swiftdeploy" / "instances"
    (canary_id,) = [p.stem for p in launches.glob("canary-*.json")]
    socket = json.loads((launches / f"{canary_id}.json").read_text())["socket"]
    (process,) = [p for p in psutil.process_iter() if _environ(p).get("APP_SOCKET") == socket]

    # The next command's view of the state: the canary, by what the process runs.
    found = Deployment.open(project.manifest).runtime.load()  # load saves nothing
    record = found.instances[canary_id]
    assert (record.pid, record.track, found.canary) == (process.pid, "canary", None)
    runs = record.pinned()
    assert runs is not None
    assert runs.version == process.environ()["APP_VERSION"] == "1.1.0"
    assert runs.executable == os.path.realpath(process.exe())
    exe = hashlib.sha256(Path(f"/proc/{process.pid}/exe").read_bytes()).hexdigest()
    assert runs.id == f"sha256:{exe}"
    assert process.cmdline() == [sys.executable, "-m", "swiftdeploy.demo"]

    out = project.ok("rollback")
    assert f"reconcile: stopping {canary_id} (runs {runs.describe()})" in out
    (event,) = [e for e in project.history() if e["type"] == "reconcile"]
    assert event["stopped_artifacts"] == {canary_id: runs.as_dict()}
    process.wait(timeout=DRAIN_S)
    assert not (launches / f"{canary_id}.json").exists()
    assert served_by(project.get("/")) == "stable"
    assert project.state()["pending"] is None


def _environ(process: psutil.Process) -> dict[str, str]:
    try:
        return process.environ()
    except psutil.Error:
        return {}


def test_processes_a_killed_command_never_recorded_are_found_and_stopped(
    project: Project,
) -> None:
    """kill -9 between starting a process and saving its pid: the next command finds it."""
    from swiftdeploy.project import Project as Paths
    from swiftdeploy.runtime.local.layout import run_dir_for

    project.ok("deploy")
    nginx_pid = project.state_pids() - {
        int(r["pid"])
        for r in project.state()["instances"].values()  # type: ignore[union-attr]
    }
    stray_socket = run_dir_for(Paths.at(project.manifest)) / "stray.sock"
    env = dict(project.env, MODE="canary", APP_VERSION="9.9.9", APP_SOCKET=str(stray_socket))
    stray = subprocess.Popen([sys.executable, "-m", "swiftdeploy.demo"], env=env)
    try:
        deadline = time.monotonic() + 30
        while not stray_socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        state_file = project.root / ".swiftdeploy" / "state.json"
        state = json.loads(state_file.read_text())
        state["pending"] = "promote canary"
        state["nginx"] = None  # as if killed before nginx's pid reached the state
        state_file.write_text(json.dumps(state))

        out = project.ok("rollback")
        assert f"stopping orphan-{stray.pid} (what it runs is unknown)" in out
        assert stray.wait(timeout=70) == 0
        assert served_by(project.get("/")) == "stable"
        assert project.state_pids() >= nginx_pid  # adopted again from its pid file
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()


def test_promote_stable_judges_the_window_from_recent_status_samples(project: Project) -> None:
    # The service's own /metrics (analysis.source: app), sampled by `status`.
    project.manifest.write_text(project.manifest.read_text() + "analysis:\n  source: app\n")
    project.ok("deploy")
    project.ok("promote", "canary")
    project.ok("chaos", "error", "--rate", "1.0")
    with Load(project.port, threads=2):
        project.ok("status", "--count", "4", "--interval", "1", "--json")
        refused = project.run("promote", "stable", "--window", "2")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Judging the canary's last 2s from status samples" in refused.stdout
    assert "[DENY] Error rate 100.00% exceeds maximum 1.00%" in refused.stdout
    # Without samples that cover the window, the gate measures it live instead.
    assert "Measuring the canary" in project.run("promote", "stable", "--window", "12").stdout
