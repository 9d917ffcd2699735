"""The dashboard beside a deployment (`dashboard.enabled: true`): started by `deploy`,
stopped by `teardown`, supervised like the other processes (a pid file and a log).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from swiftdeploy import _process
from swiftdeploy.errors import SwiftDeployError, UsageError
from swiftdeploy.files import atomic_write

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment

TOKEN_FILE = "dashboard.token"  # noqa: S105 - a file name, not a secret
PID_FILE = "dashboard.pid"
LOG_FILE = "dashboard.log"
START_TIMEOUT_S = 60.0  # as long as an instance may take to become healthy


@dataclass(frozen=True)
class Prepared:
    """What `swiftdeploy dashboard` serves, and what to tell the operator first."""

    manifest_path: Path
    bind: str
    port: int
    read_only: bool
    token: str
    token_path: Path | None
    url: str
    warning: str


def prepare(
    deployment: Deployment, *, port: int | None, bind: str | None, read_only: bool | None
) -> Prepared:
    from swiftdeploy.dashboard.security import is_loopback

    spec = deployment.manifest.dashboard
    bind = bind or spec.bind
    port = port if port is not None else spec.port
    read_only = spec.read_only if read_only is None else read_only
    _check_free(bind, port)
    token = "" if read_only else _dashboard_token(deployment)
    host = f"[{bind}]" if ":" in bind else bind
    warning = (
        ""
        if is_loopback(bind)
        else f"the dashboard listens on {bind}, reachable from other machines; "
        "anyone who can reach it sees the deployment (controls still need the token)"
    )
    return Prepared(
        manifest_path=deployment.project.manifest_path,
        bind=bind,
        port=port,
        read_only=read_only,
        token=token,
        token_path=None if read_only else _token_path(deployment),
        url=f"http://{host}:{port}/",
        warning=warning,
    )


def _check_free(bind: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {bind}:{port}: {exc.strerror or exc}",
                hint="choose another port with --port",
            ) from None


def _pid_path(deployment: Deployment) -> Path:
    return deployment.project.state_dir / PID_FILE


def running_pid(deployment: Deployment) -> int | None:
    try:
        pid = int(_pid_path(deployment).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _process.alive(pid, marker=str(deployment.project.manifest_path)) else None


def start_beside(deployment: Deployment) -> str | None:
    """Start the dashboard the manifest asks for; its URL, or None when it is not enabled."""
    spec = deployment.manifest.dashboard
    if not spec.enabled:
        return None
    host = f"[{spec.bind}]" if ":" in spec.bind else spec.bind
    url = f"http://{host}:{spec.port}/"
    if running_pid(deployment) is not None:
        return url
    argv = [
        sys.executable, "-m", "swiftdeploy", "-f", str(deployment.project.manifest_path),
        "dashboard", "--port", str(spec.port), "--bind", spec.bind,
        *(["--read-only"] if spec.read_only else []),
    ]  # fmt: skip
    pid = spawn_beside(deployment, argv, LOG_FILE)
    _pid_path(deployment).write_text(f"{pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _process.alive(pid, marker=str(deployment.project.manifest_path)):
            break
        with contextlib.suppress(OSError), socket.create_connection((spec.bind, spec.port), 0.5):
            deployment.reporter.tag("OK", f"dashboard on {url}", style="green")
            return url
        time.sleep(0.1)
    log = deployment.project.logs_dir / LOG_FILE
    try:
        last = (log.read_text(errors="replace").strip().splitlines() or [""])[-1].strip()
    except OSError:
        last = ""
    said = f": {last}" if last else ""
    raise SwiftDeployError(
        f"the dashboard did not start on {url}{said}", hint=f"see its log: {log}"
    )


def stop_beside(deployment: Deployment) -> list[str]:
    """Stop the dashboard started beside the deployment, if one runs."""
    pid = running_pid(deployment)
    _pid_path(deployment).unlink(missing_ok=True)
    if pid is None:
        return []
    _process.terminate(pid, marker=str(deployment.project.manifest_path), timeout=10.0)
    return [f"dashboard (pid {pid})"]


def _dashboard_token(deployment: Deployment) -> str:
    """The deployment's dashboard token, created on first use (0600, like the chaos token)."""
    path = _token_path(deployment)
    if not path.exists():
        deployment.project.ensure_state_dir()
        atomic_write(path, secrets.token_urlsafe(32) + "\n", mode=0o600)
    return path.read_text().strip()


def _token_path(deployment: Deployment) -> Path:
    return deployment.project.state_dir / TOKEN_FILE


def spawn_beside(deployment: Deployment, argv: list[str], log_name: str) -> int:
    """Start a detached process of this deployment, its output in logs/<log_name>."""
    deployment.project.ensure_state_dir()
    log_path = deployment.project.logs_dir / log_name
    return _process.spawn(argv, env=dict(os.environ), log_path=log_path)
