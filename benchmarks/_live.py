"""A real deployment on the local runtime and a paced loopback load, for the live benchmarks.

The project is driven through the CLI exactly as an operator would (a subprocess per
command, the real nginx, real service processes); `LiveProject` always tears it down.
`PacedLoad` sends GET / at a fixed total rate from a few threads, each with its own
keep-alive connection and its own share of the rate; it never retries: a failed request
is counted and the next one opens a new connection.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def nginx_binary() -> str:
    for candidate in (
        os.environ.get("SWIFTDEPLOY_NGINX"),
        shutil.which("nginx"),
        "/usr/sbin/nginx",
        str(Path.home() / ".cache" / "swiftdeploy" / "bin" / "nginx"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("nginx not found (run scripts/setup)")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CommandResult:
    args: tuple[str, ...]
    code: int
    seconds: float
    output: str


class LiveProject:
    """A temporary project on the local runtime; use as a context manager."""

    def __init__(
        self,
        extra_manifest: str = "",
        canary_data: dict[str, Any] | None = None,
        *,
        bytecode_cache: bool = False,
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="sdbench-live-"))
        self.root = self.tmp / "svc"
        self.root.mkdir()
        self.port = free_port()
        self.manifest = self.root / "manifest.yaml"
        self.manifest.write_text(MANIFEST.format(port=self.port) + extra_manifest)
        self.env = dict(os.environ, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_NGINX=nginx_binary())
        self.canary_data = canary_data or {}
        if bytecode_cache:
            # Let every CLI and service process cache bytecode in a private folder, as a
            # normal install does after its first run (see benchmarks/init_help.py).
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")

    def __enter__(self) -> LiveProject:
        try:
            self.ok("init")
            # A benchmark on a busy shared host, not a test of the infra gate: lift the
            # CPU-load limit as the lifecycle tests do.
            self._patch("infra", {"max_cpu_load": 1000})
            if self.canary_data:
                self._patch("canary", self.canary_data)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        result = self.run("teardown", timeout=120)
        if result.code != 0:
            print(f"teardown failed:\n{result.output}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _patch(self, domain: str, values: dict[str, Any]) -> None:
        data = self.root / "policies" / domain / "data.json"
        data.write_text(json.dumps({**json.loads(data.read_text()), **values}))

    def run(self, *args: str, timeout: float = 180) -> CommandResult:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "swiftdeploy", "-f", str(self.manifest), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )
        return CommandResult(
            args, proc.returncode, time.perf_counter() - started, proc.stdout + proc.stderr
        )

    def ok(self, *args: str, timeout: float = 180) -> CommandResult:
        result = self.run(*args, timeout=timeout)
        if result.code != 0:
            raise RuntimeError(
                f"swiftdeploy {' '.join(args)} exited {result.code}:\n{result.output}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "swiftdeploy", "-f", str(self.manifest), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def rollout(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(
                (self.root / ".swiftdeploy" / "rollout.json").read_text()
            )
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return loaded

    def state(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(
                (self.root / ".swiftdeploy" / "state.json").read_text()
            )
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return loaded


@dataclass
class Sample:
    t: float  # time.monotonic() when the response (or the error) arrived
    status: int  # HTTP status, or 0 for a connection error
    mode: str  # X-Mode of the response ("stable" / "canary"), "" when unknown
    error: str = ""


@dataclass
class PacedLoad:
    """GET / at `rate` requests/s in total from `threads` keep-alive connections.

    Each thread sends its share on a fixed schedule (open loop: the schedule does not
    wait for slow responses beyond the one connection's own request in flight); a request
    that could not go out on time is sent at once and counted as late. Bounded by
    `max_seconds`.
    """

    port: int
    rate: float = 500.0
    threads: int = 4
    max_seconds: float = 900.0
    timeout: float = 10.0
    samples: list[Sample] = field(default_factory=list)
    late: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = 0.0
    stopped: float = 0.0

    def _worker(self, index: int) -> None:
        period = self.threads / self.rate
        start = self.started + index * period / self.threads
        deadline = self.started + self.max_seconds
        conn: http.client.HTTPConnection | None = None
        local: list[Sample] = []
        late = 0
        k = 0
        while not self.stop.is_set():
            due = start + k * period
            k += 1
            now = time.monotonic()
            if due > now:
                if self.stop.wait(due - now):
                    break
            elif now - due > period:
                late += 1
            if time.monotonic() > deadline:
                break
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                local.append(
                    Sample(time.monotonic(), response.status, response.getheader("X-Mode", ""))
                )
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                local.append(Sample(time.monotonic(), 0, "", repr(exc)))
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with self.lock:
            self.samples.extend(local)
            self.late += late

    def __enter__(self) -> PacedLoad:
        self.started = time.monotonic()
        self.workers = [
            threading.Thread(target=self._worker, args=(i,), daemon=True)
            for i in range(self.threads)
        ]
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=30)
        self.stopped = time.monotonic()
        self.samples.sort(key=lambda s: s.t)

    @property
    def achieved_rate(self) -> float:
        return len(self.samples) / max(self.stopped - self.started, 1e-9)

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.t <= end]

    @staticmethod
    def failures(samples: list[Sample]) -> int:
        return sum(1 for s in samples if not 200 <= s.status < 300)

    @staticmethod
    def connection_errors(samples: list[Sample]) -> int:
        return sum(1 for s in samples if s.status == 0)
