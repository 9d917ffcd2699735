"""What the end-to-end tests share: a compose project driven through the real CLI, docker
helpers, and load through nginx on localhost."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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
  name: {network}
  driver_type: bridge
runtime: compose
policy:
  opa_port: {opa_port}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def docker(env: dict[str, str], *args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


@dataclass
class Stack:
    root: Path
    port: int
    opa_port: int
    name: str  # the compose project name
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
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

    def history(self) -> list[dict[str, Any]]:
        path = self.root / "history.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def label_filter(self) -> list[str]:
        return ["--filter", f"label=com.docker.compose.project={self.name}"]

    def container(self, service: str) -> str:
        ids = docker(
            self.env,
            "ps",
            "-q",
            *self.label_filter(),
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).split()
        assert len(ids) == 1, f"{service}: {ids}"
        return ids[0]

    def inspect(self, container: str) -> dict[str, Any]:
        loaded: list[dict[str, Any]] = json.loads(docker(self.env, "inspect", container))
        return loaded[0]

    def leftovers(self) -> dict[str, list[str]]:
        return {
            "containers": docker(self.env, "ps", "-a", "-q", *self.label_filter()).split(),
            "networks": docker(self.env, "network", "ls", "-q", *self.label_filter()).split(),
            "volumes": docker(self.env, "volume", "ls", "-q", *self.label_filter()).split(),
        }


@dataclass
class Load:
    """Keep-alive GET traffic through nginx on localhost, counting non-2xx and errors."""

    port: int
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: int = 2
    max_seconds: float = 180.0

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
