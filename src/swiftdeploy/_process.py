"""The one place SwiftDeploy runs external programs (nginx, opa, docker, service instances).

Never a shell; always an argv list. `run` waits (with a timeout) and turns a failure into
CommandFailed carrying the command and its stderr; `spawn` starts a long-running process
in its own session that outlives the CLI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from swiftdeploy.errors import CommandFailed


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(program: str) -> str | None:
    """Find a program on PATH, also looking in the sbin folders root tools live in."""
    found = shutil.which(program)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = Path(folder) / program
        if candidate.is_file():
            return str(candidate)
    return None


def run(
    argv: list[str],
    *,
    timeout: float = 60.0,
    check: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> Completed:
    """Run argv to completion and capture its output as text."""
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=env,
            input=input_text,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(f"{argv[0]}: command not found", argv=argv, returncode=None) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(
            f"{' '.join(argv)} timed out after {timeout:g}s", argv=argv, returncode=None
        ) from exc
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        last_line = (proc.stderr.strip().splitlines() or [""])[-1]
        raise CommandFailed(
            f"{' '.join(argv)} exited {proc.returncode}: {last_line}",
            argv=argv,
            returncode=proc.returncode,
            stderr=proc.stderr,
        )
    return result


def spawn(argv: list[str], *, env: dict[str, str], log_path: Path) -> int:
    """Start a detached process (own session, stdout+stderr to log_path); return its pid.

    posix_spawn rather than Popen: no Popen object is left to warn that its child still
    runs, which is the point — the process must outlive this CLI.
    """
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    try:
        actions = [
            (os.POSIX_SPAWN_DUP2, null_fd, 0),
            (os.POSIX_SPAWN_DUP2, log_fd, 1),
            (os.POSIX_SPAWN_DUP2, log_fd, 2),
        ]
        return os.posix_spawnp(argv[0], argv, env, file_actions=actions, setsid=True)
    except OSError as exc:
        raise CommandFailed(f"cannot start {argv[0]}: {exc}", argv=argv, returncode=None) from exc
    finally:
        os.close(log_fd)
        os.close(null_fd)


def reap(pid: int) -> None:
    """Collect a child of this process that has exited, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int, *, marker: str) -> bool:
    """Is pid running and still the process we started (not a recycled pid)?

    `marker` is a string our process has in its command line or environment (a path of the
    project's), so a pid the kernel reused for somebody else's process reads as dead.
    """
    import psutil

    reap(pid)
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        haystack = " ".join(proc.cmdline())
        if marker and marker not in haystack:
            haystack += " " + " ".join(proc.environ().values())
        return not marker or marker in haystack
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def terminate(
    pid: int, *, marker: str, timeout: float = 10.0, sig: signal.Signals = signal.SIGTERM
) -> None:
    """Ask our process to stop gracefully; kill it if it has not stopped after timeout."""
    if not alive(pid, marker=marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, marker=marker):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    reap(pid)
