"""What the lifecycle integration tests share: a project driven through the real CLI, and load.

Each project gets its own folder and loopback port; the CLI runs as a subprocess, exactly as
an operator would run it, and the fixture always tears the deployment down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

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


def running(pid: int) -> bool:
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
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_seconds: float = 120.0
    threads: int = 1

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    status = client.get("/").status_code
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.errors.append(repr(exc))
                else:
                    with self.lock:
                        self.statuses[status] = self.statuses.get(status, 0) + 1
                time.sleep(0.005)

    def __enter__(self) -> Load:
        self.workers = [threading.Thread(target=self.run, daemon=True) for _ in range(self.threads)]
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=30)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def failures(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300) + len(self.errors)
