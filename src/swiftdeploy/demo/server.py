"""Run the demo app on a production ASGI server, over TCP or a Unix socket.

granian is the default: it measured faster than uvicorn through nginx for this workload
(docs/benchmarks.md, "Demo service throughput"). uvicorn stays selectable for comparison.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import sys
from pathlib import Path
from typing import Literal

from swiftdeploy.demo.app import DemoApp, create_app
from swiftdeploy.demo.settings import Settings
from swiftdeploy.errors import UsageError

ServerName = Literal["granian", "uvicorn"]
SERVERS: tuple[ServerName, ...] = ("granian", "uvicorn")
DEFAULT_SERVER: ServerName = "granian"
# Long enough for a chaos-slowed request (max 60 s) to finish after SIGTERM.
GRACEFUL_TIMEOUT_S = 75


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces `settings` (worker processes re-read it)."""
    env = {
        "MODE": settings.mode,
        "APP_VERSION": settings.version,
        "APP_HOST": settings.host,
        "APP_PORT": str(settings.port),
        "APP_SOCKET": str(settings.socket) if settings.socket else "",
        "METRICS_ENABLED": "1" if settings.metrics_enabled else "0",
    }
    if settings.chaos_token:
        env["CHAOS_TOKEN"] = settings.chaos_token
    return env


def remove_stale_socket(path: Path) -> None:
    """Remove a socket file left by a crashed instance; refuse to steal a live one."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise UsageError(f"{path} exists and is not a socket; refusing to replace it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)
            return
    raise UsageError(f"another process is already listening on {path}")


def serve(settings: Settings, *, server: ServerName = DEFAULT_SERVER) -> None:
    """Serve until SIGTERM/SIGINT, then drain in-flight requests and return."""
    if settings.socket is not None:
        settings.socket.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_socket(settings.socket)
    if server == "granian":
        _serve_granian(settings)
    elif server == "uvicorn":
        _serve_uvicorn(settings)
    else:
        raise UsageError(f"unknown server {server!r}; choose one of {', '.join(SERVERS)}")


def _serve_granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    # granian imports the factory in a worker process, which reads the environment.
    os.environ.update(settings_env(settings))
    Granian(
        target="swiftdeploy.demo.server:worker_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        uds=settings.socket,
        http=HTTPModes.http1,
        # One worker: metrics and chaos state live in process memory, and a second
        # worker would give nginx two inconsistent views of one instance.
        workers=1,
        websockets=False,
        log_access=False,
        backlog=1024,
        workers_kill_timeout=GRACEFUL_TIMEOUT_S,
    ).serve()


def worker_app() -> DemoApp:
    """granian's factory, run in its worker process."""
    _die_with_parent()
    return create_app()


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when granian's main process dies.

    Supervisors signal (and, after their drain timeout, SIGKILL) only the main pid; without
    this an orphaned worker would keep serving on the socket nobody tracks any more.
    SIGTERM rather than SIGKILL, so the worker still drains its in-flight requests.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    # The parent may have died before prctl took effect: then we are already orphaned.
    if os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)


def _serve_uvicorn(settings: Settings) -> None:
    try:
        import uvicorn
    except ImportError as exc:
        raise UsageError(
            "uvicorn is not installed", hint="install the dev group or use --server granian"
        ) from exc
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        uds=str(settings.socket) if settings.socket else None,
        lifespan="on",
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
        http="h11" if _missing("httptools") else "httptools",
    )
    # uvicorn drains, restores the previous handler and re-raises SIGTERM so the process
    # dies of it; a no-op previous handler turns a drained shutdown into exit status 0.
    previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    try:
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if settings.socket is not None:
        with contextlib.suppress(FileNotFoundError):
            settings.socket.unlink()


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None
