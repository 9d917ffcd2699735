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
from pathlib import Path
from typing import Literal

from swiftdeploy.demo.app import Settings
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
        target="swiftdeploy.demo.app:create_app",
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


def _serve_uvicorn(settings: Settings) -> None:
    try:
        import uvicorn
    except ImportError as exc:
        raise UsageError(
            "uvicorn is not installed", hint="install the dev group or use --server granian"
        ) from exc
    from swiftdeploy.demo.app import create_app

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
