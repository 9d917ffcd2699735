"""The release lifecycle on the local runtime: the real nginx and real service processes.

Each test gets its own project folder and loopback port, drives the CLI as a subprocess
(exactly as an operator would) and always tears the deployment down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration

MANIFEST = """\
# the operator's comment survives promote/rollback
services:
  name: app
  image: swift-deploy-1-node:latest
  port: 3000
  mode: stable
  version: "1.0.0"
nginx:
  image: nginx:latest
  port: {port}
  proxy_timeout: 30
network:
  name: swiftdeploy-net
  driver_type: bridge
"""


@dataclass
class Project:
    root: Path
    port: int
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "swiftdeploy", "-f", str(self.manifest), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def get(self, path: str = "/", **headers: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)

    def state(self) -> dict[str, object]:
        path = self.root / ".swiftdeploy" / "state.json"
        loaded: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
        return loaded

    def pids(self) -> set[int]:
        state = self.state()
        instances = state.get("instances") or {}
        assert isinstance(instances, dict)
        pids = {int(rec["pid"]) for rec in instances.values()}
        nginx = state.get("nginx")
        if isinstance(nginx, dict):
            pids.add(int(nginx["pid"]))
        return pids

    def history(self) -> list[dict[str, object]]:
        path = self.root / "history.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture
def project(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "manifest.yaml").write_text(MANIFEST.format(port=port))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_NGINX=nginx_bin)
    proj = Project(root, port, env)
    proj.ok("init")
    # These tests are about the lifecycle, not this busy test host: lift the CPU-load limit
    # (the infra gate itself is exercised by test_denied_deploy_starts_nothing).
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    try:
        yield proj
    finally:
        pids = proj.pids() if (root / ".swiftdeploy").exists() else set()
        proj.run("teardown")
        for pid in pids:
            assert not _running(pid), f"process {pid} survived teardown"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Load:
    """Keep-alive GET traffic through nginx, counting every non-2xx and connection error."""

    port: int
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    max_seconds: float = 120.0

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    status = client.get("/").status_code
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                time.sleep(0.005)

    def __enter__(self) -> Load:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def failures(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300) + len(self.errors)


def test_seed_flow_gates_the_canary_on_its_live_metrics(project: Project) -> None:
    out = project.ok("deploy")
    assert "[PASS] Infrastructure policy" in out
    first = project.get("/")
    assert first.status_code == 200
    assert first.headers["X-Mode"] == "stable"
    assert first.headers["X-Deployed-By"] == "swiftdeploy"
    assert first.json()["message"] == "Welcome to SwiftDeploy [stable]"

    project.ok("promote", "canary")
    assert project.get("/").headers["X-Mode"] == "canary"
    assert "mode: canary" in project.manifest.read_text()
    assert "# the operator's comment survives" in project.manifest.read_text()

    project.ok("chaos", "error", "--rate", "0.5")
    with Load(project.port) as load:
        refused = project.run("promote", "stable", "--window", "3")
    assert load.total >= 50
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "[DENY] Error rate" in refused.stdout
    assert "[BLOCKED] Promotion denied by canary safety policy" in refused.stdout
    assert project.get("/", **{"X-Canary": "always"}).headers["X-Mode"] == "canary"

    project.ok("chaos", "recover")
    with Load(project.port) as load:
        project.ok("promote", "stable", "--window", "3")
    assert load.failures == 0, (load.statuses, load.errors[:3])
    after = project.get("/")
    assert after.headers["X-Mode"] == "stable"
    assert "mode: stable" in project.manifest.read_text()

    types = [event["type"] for event in project.history()]
    assert types.count("policy_decision") >= 4
    assert "promote" in types
    assert "chaos" in types


def test_deploy_is_idempotent(project: Project) -> None:
    project.ok("deploy")
    pids = project.pids()
    out = project.ok("deploy")
    assert "already running" in out
    assert project.pids() == pids


def test_denied_deploy_starts_nothing(project: Project) -> None:
    data = project.root / "policies" / "infra" / "data.json"
    thresholds = json.loads(data.read_text())
    thresholds["min_disk_gb"] = 10_000_000
    data.write_text(json.dumps(thresholds))
    result = project.run("deploy")
    assert result.returncode == 1
    assert "[DENY] Disk free" in result.stdout
    assert "[BLOCKED] Deployment denied by infrastructure policy" in result.stdout
    assert project.pids() == set()
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
    assert project.get("/").headers["X-Mode"] == "stable"
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
    assert project.get("/").headers["X-Mode"] == "stable"
    running = {pid for pid in leftover if _running(pid)}
    assert running == project.pids() - {state["nginx"]["pid"]}  # type: ignore[index]
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

    project.ok("teardown")
    down = project.ok("status", "--once", "--interval", "0.2")
    assert "mode=down" in down
