"""Start and stop the `opa run --server` process the local runtime uses.

The server binds 127.0.0.1 only; its pid file and log live in the given state folder so
`teardown` (or a later command) can stop it. It is started with _process.spawn, so it
outlives the CLI that started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from swiftdeploy._process import reap, spawn
from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.files import atomic_write
from swiftdeploy.policy.binary import find_opa

PID_FILE = "opa.pid"

LOG_FILE = "opa.log"


@dataclass(frozen=True)
class OpaServer:
    pid: int
    url: str
    log_path: Path


def _pid_path(state_dir: Path) -> Path:
    return state_dir / PID_FILE


def _running_opa(pid: int) -> bool:
    """True when pid is alive and is an opa process (pids get reused)."""
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and any("opa" in part for part in proc.cmdline()[:1])
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def wait_healthy(url: str, *, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/health", timeout=0.5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.05)
    raise PolicyUnavailable(f"policy engine unavailable: OPA at {url} not healthy ({last})")


def start_server(
    policies_dir: Path,
    state_dir: Path,
    *,
    port: int = 8181,
    opa_bin: str | None = None,
    timeout_s: float = 10.0,
) -> OpaServer:
    """Start OPA serving policies_dir on 127.0.0.1:port (reusing a running one) and wait."""
    url = f"http://127.0.0.1:{port}"
    pid_path = _pid_path(state_dir)
    log_path = state_dir / "logs" / LOG_FILE
    if pid_path.is_file():
        with contextlib.suppress(ValueError):
            pid = int(pid_path.read_text().strip())
            if _running_opa(pid):
                wait_healthy(url, timeout_s=timeout_s)
                return OpaServer(pid, url, log_path)
    binary = opa_bin or find_opa()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        binary, "run", "--server", "--addr", f"127.0.0.1:{port}",
        "--log-level", "error", str(policies_dir),
    ]  # fmt: skip
    pid = spawn(argv, env=dict(os.environ), log_path=log_path)
    atomic_write(pid_path, f"{pid}\n")
    try:
        wait_healthy(url, timeout_s=timeout_s)
    except PolicyUnavailable:
        stop_server(state_dir)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise PolicyUnavailable(
            f"policy engine unavailable: OPA did not start on {url}: {' | '.join(tail)}"
        ) from None
    return OpaServer(pid, url, log_path)


def stop_server(state_dir: Path, *, timeout_s: float = 5.0) -> bool:
    """Stop the OPA started from state_dir; False when none was running."""
    pid_path = _pid_path(state_dir)
    try:
        pid = int(pid_path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    stopped = False
    if _running_opa(pid):
        proc = psutil.Process(pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        stopped = True
    reap(pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pid_path)
    return stopped
