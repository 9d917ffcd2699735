"""What the lifecycle tests share: a project driven through the real CLI, and load.

Each project gets its own folder and loopback port; the CLI runs as a subprocess, exactly as
an operator would run it, and every fixture tears the deployment down and checks that no
process it started survives.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from seed_support import seed_text

MANIFEST = seed_text(
    nginx_port="{port}", header="# the operator's comment survives promote/rollback\n"
)


def free_port() -> int:
    """A loopback port no one listens on, below the kernel's ephemeral range.

    A port from bind(("127.0.0.1", 0)) is free only until somebody else binds port 0: a
    collector or OPA server the deployment starts first, a client's source port. One from
    outside that range cannot be handed out meanwhile, so the test's nginx still gets it.
    """
    low = _ephemeral_low()
    if low <= 10_001:  # no room below it: the kernel's choice is all there is
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(500):
        port = _random.randrange(10_000, low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in 10000-{low - 1} after 500 tries")


_random = random.SystemRandom()  # not the seeded `random`: parallel workers must differ


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


@dataclass
class Project:
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
        """The pids the state file records: instances, nginx and OPA."""
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
        from swiftdeploy.project import Project as Paths
        from swiftdeploy.runtime.local.layout import run_dir_for

        run_dir = str(run_dir_for(Paths.at(self.manifest)))
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
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        assert not survivors, f"processes survived teardown: {survivors}"


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def make_project(
    tmp_path: Path, port: int, nginx_bin: str, *, extra: str = "", env: dict[str, str] | None = None
) -> Project:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "manifest.yaml").write_text(MANIFEST.format(port=port) + extra)
    full_env = dict(os.environ, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_NGINX=nginx_bin)
    full_env.pop("SWIFTDEPLOY_OPA_URL", None)
    full_env.update(env or {})
    project = Project(root, port, full_env)
    project.ok("init")
    # Lifecycle tests are not about this busy host's load: lift the CPU-load limit (the
    # infra gate itself is exercised by test_denied_deploy_starts_nothing).
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    return project


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


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve handler on a free loopback port for the block; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def reply(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    """Answer with a JSON body; a client that already gave up is not an error here."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def served_by(response: httpx.Response) -> str:
    """The track that answered: canary responses carry `X-Mode: canary` (every one, errors
    included), stable responses carry no X-Mode at all; the demo's `/` body names its mode too."""
    header = response.headers.get("X-Mode")
    assert header in (None, "canary"), f"unexpected X-Mode header {header!r}"
    track = header or "stable"
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and "mode" in body:
            assert body["mode"] == track, (body, response.headers)
    return track
