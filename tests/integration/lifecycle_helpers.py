"""A deployed project on the local runtime, driven through the real CLI (shared by tests)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

MANIFEST = """\
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
class LocalProject:
    root: Path
    port: int
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "swiftdeploy", "-f", str(self.manifest), *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, timeout=timeout, env=self.env,
            check=False,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    def get(self, path: str = "/", **headers: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)

    def state(self) -> dict[str, object]:
        path = self.root / ".swiftdeploy" / "state.json"
        try:
            loaded: dict[str, object] = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return loaded

    def state_pids(self) -> set[int]:
        state = self.state()
        instances = state.get("instances") or {}
        assert isinstance(instances, dict)
        pids = {int(rec["pid"]) for rec in instances.values()}
        for key in ("nginx", "opa"):
            record = state.get(key)
            if isinstance(record, dict):
                pids.add(int(record["pid"]))
        return pids

    def stray_pids(self) -> set[int]:
        """Every live process this project started: by socket folder or project path."""
        from swiftdeploy.project import Project
        from swiftdeploy.runtime.local import run_dir_for

        run_dir = str(run_dir_for(Project.at(self.manifest)))
        root = str(self.root)
        found: set[int] = set()
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                    continue
                cmdline = " ".join(proc.info["cmdline"] or [])
                if run_dir in cmdline or f"{root}/" in cmdline:
                    found.add(proc.pid)
                    continue
                if run_dir in proc.environ().get("APP_SOCKET", ""):
                    found.add(proc.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def history(self) -> list[dict[str, object]]:
        path = self.root / "history.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def teardown_and_check(self) -> None:
        before = self.state_pids() | self.stray_pids()
        result = self.run("teardown")
        assert "Traceback" not in result.stderr, result.stderr
        survivors = {pid for pid in before | self.stray_pids() if running(pid)}
        for pid in survivors:  # never leave them behind, even when failing
            with_kill(pid)
        assert not survivors, f"processes survived teardown: {survivors}"


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def with_kill(pid: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).kill()


def make_project(
    tmp_path: Path, port: int, nginx_bin: str, *, extra: str = "", env: dict[str, str] | None = None
) -> LocalProject:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "manifest.yaml").write_text(MANIFEST.format(port=port) + extra)
    full_env = dict(os.environ, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_NGINX=nginx_bin)
    full_env.pop("SWIFTDEPLOY_OPA_URL", None)
    full_env.update(env or {})
    project = LocalProject(root, port, full_env)
    project.ok("init")
    # Lifecycle tests are not about this busy host's load: lift the CPU-load limit.
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    return project
