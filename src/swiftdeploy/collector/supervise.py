"""The collector as a resident process beside nginx: start it, adopt it, stop it.

`deploy` calls `ensure_running` (a collector left running by an earlier CLI, even one that
was killed, is adopted: its pid file names it, its command line carries the state folder);
`teardown` calls `stop` (SIGTERM: it reads the log to its end, writes a last journal record
and exits). `locate` has no side effects, for `status` and the gates.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from swiftdeploy import _process
from swiftdeploy.collector.server import PID_FILE, PORT_FILE
from swiftdeploy.errors import CommandFailed, StateError

START_TIMEOUT_S = 30.0  # a loaded 2-core host took longer than 15 s to import and bind


@dataclass(frozen=True)
class CollectorProcessInfo:
    """Where the collector of one deployment is, if it runs."""

    pid: int | None
    url: str | None  # http://127.0.0.1:PORT while it runs
    started: bool = False  # True when this call started it (False: adopted, or not running)

    @property
    def running(self) -> bool:
        return self.pid is not None


def locate(state_dir: Path) -> CollectorProcessInfo:
    """The running collector whose state is in `state_dir`, or a not-running info."""
    pid, port = _read_int(state_dir / PID_FILE), _read_int(state_dir / PORT_FILE)
    if pid is None or port is None or not _process.alive(pid, marker=_marker(state_dir)):
        return CollectorProcessInfo(pid=None, url=None)
    return CollectorProcessInfo(pid=pid, url=f"http://127.0.0.1:{port}")


def ensure_running(
    state_dir: Path,
    log: Path,
    *,
    process_log: Path,
    excluded_paths: tuple[str, ...] = (),
    timeout_s: float = START_TIMEOUT_S,
) -> CollectorProcessInfo:
    """Adopt the collector already following `log`, or start one and wait until it answers."""
    found = locate(state_dir)
    settings = _settings_args(state_dir, excluded_paths)
    adoptable = found.pid is not None and found.url is not None and _answers(found.url)
    if adoptable and _process.alive(found.pid or 0, marker=" ".join(settings)):
        return found
    if found.pid is not None:  # not answering, or other settings: replace it
        _process.terminate(found.pid, marker=_marker(state_dir))
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create the collector's folder {state_dir}: {exc}") from exc
    last_port = _read_int(state_dir / PORT_FILE) or 0
    for stale in (PID_FILE, PORT_FILE):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / stale).unlink()
    argv = [sys.executable, "-m", "swiftdeploy.collector"]
    argv += [*settings, str(last_port), "--log", str(log)]
    pid = _process.spawn(argv, env=dict(os.environ), log_path=process_log)
    deadline = time.monotonic() + timeout_s
    # Our own unreaped child: its pid cannot be reused, so exit is asked of waitpid, not of
    # its command line (which still reads as this CLI's until the new program is exec'd).
    while time.monotonic() < deadline and not _exited(pid):
        port = _read_int(state_dir / PORT_FILE)
        if _read_int(state_dir / PID_FILE) == pid and port is not None:
            url = f"http://127.0.0.1:{port}"
            if _answers(url):
                return CollectorProcessInfo(pid=pid, url=url, started=True)
        time.sleep(0.05)
    how = "exited" if _exited(pid) else "did not answer"
    _stop_child(pid)
    raise CommandFailed(
        f"the collector {how} within {timeout_s:g}s of starting: {_tail(process_log)}",
        argv=argv,
        returncode=None,
    )


def stop(state_dir: Path, *, timeout_s: float = 10.0) -> bool:
    """Stop the collector of `state_dir` gracefully; True if one was running."""
    found = locate(state_dir)
    if found.pid is None:
        return False
    _process.terminate(found.pid, marker=_marker(state_dir), timeout=timeout_s)
    return True


def _exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # reaped already
    return done == pid


def _stop_child(pid: int, grace_s: float = 2.0) -> None:
    """SIGTERM, then SIGKILL: a collector that never answered must not be left running."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if _exited(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _marker(state_dir: Path) -> str:
    return f"--state-dir {state_dir.resolve()}"


def _settings_args(state_dir: Path, excluded_paths: tuple[str, ...]) -> list[str]:
    """The collector's arguments up to its preferred port (the last run's, so an operator's
    Prometheus keeps scraping the same address): a running collector whose command line
    holds them, in this order, was started with these settings."""
    args = ["--state-dir", str(state_dir.resolve())]
    for path in excluded_paths:
        args += ["--exclude-path", path]
    return [*args, "--prefer-port"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "no log"
    return " | ".join(text.splitlines()[-lines:]) or "its log is empty"
