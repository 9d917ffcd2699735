"""The supervisor as a resident process beside the instances: start it, adopt it, stop it.

Like the collector (collector/supervise.py): `deploy` adopts the supervisor its pid file
names when that process still carries this project's `--state-dir` (and the manifest's
restart policy) on its command line, and starts one otherwise; `teardown` stops it before
the instances, so it never races their stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swiftdeploy import _process
from swiftdeploy.errors import CommandFailed

PID_FILE = "supervisor.pid"
START_TIMEOUT_S = 30.0  # a loaded 2-core host can take seconds to import and start


@dataclass(frozen=True)
class SupervisorInfo:
    pid: int | None
    started: bool = False  # True when this call started it (False: adopted, or not running)


def locate(state_dir: Path, *, policy: str | None = None) -> SupervisorInfo:
    """The running supervisor of state_dir (with that restart policy, when given)."""
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return SupervisorInfo(pid=None)
    marker = _marker(state_dir) + (f" {policy} " if policy else "")
    return SupervisorInfo(pid=pid if _process.alive(pid, marker=marker) else None)


def ensure_running(
    state_dir: Path, manifest: Path, policy: str, *, process_log: Path
) -> SupervisorInfo:
    """Adopt the supervisor already running with `policy`, or (re)start one."""
    found = locate(state_dir, policy=policy)
    if found.pid is not None:
        return found
    stop(state_dir)  # one with another restart policy: replace it
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / PID_FILE).unlink()
    argv = [sys.executable, "-m", "swiftdeploy.runtime.local.supervisor"]
    # --restart right after --state-dir: one marker names the project and the policy.
    argv += ["--state-dir", str(state_dir.resolve()), "--restart", policy]
    argv += ["--manifest", str(manifest)]
    pid = _process.spawn(argv, env=dict(os.environ), log_path=process_log)
    deadline = time.monotonic() + START_TIMEOUT_S
    # Our own unreaped child: exit is asked of waitpid, not of its command line.
    while time.monotonic() < deadline and not _exited(pid):
        with contextlib.suppress(OSError, ValueError):
            if int((state_dir / PID_FILE).read_text(encoding="ascii").strip()) == pid:
                return SupervisorInfo(pid=pid, started=True)
        time.sleep(0.05)
    how = "exited" if _exited(pid) else "did not start"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _process.reap(pid)
    raise CommandFailed(
        f"the supervisor {how} within {START_TIMEOUT_S:g}s (log: {process_log})",
        argv=argv,
        returncode=None,
    )


def stop(state_dir: Path, *, timeout_s: float = 10.0) -> int | None:
    """Stop the supervisor of state_dir; its pid if one was running."""
    found = locate(state_dir)
    if found.pid is None:
        return None
    _process.terminate(found.pid, marker=_marker(state_dir), timeout=timeout_s)
    return found.pid


def _exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _marker(state_dir: Path) -> str:
    return f"--state-dir {state_dir.resolve()} --restart"
