"""nginx in a container, re-pointed by reloads: what the compose and swarm runtimes share.

The runtime renders nginx.conf for what runs, writes it as a candidate beside the live one,
checks it with `nginx -t` in the container, renames it into place and sends `nginx -s
reload`, then waits until only workers on the new configuration are left. nginx mounts a
folder of its own (PROXY_CONF_DIR, read-only, world-readable), not the project folder,
whose mode may keep nginx's unprivileged user out, nor the file: a single-file bind mount
pins the inode, so the container would never see a rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from swiftdeploy.collector.nginx import REQUEST_LOG
from swiftdeploy.containers import NGINX_CONF_DIR, PROXY_CONF_DIR, PROXY_LOG_DIR
from swiftdeploy.errors import CommandFailed, SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import NginxTarget, render_nginx
from swiftdeploy.project import Project
from swiftdeploy.runtime import docker
from swiftdeploy.runtime.compose.files import proxy_target
from swiftdeploy.state import DeploymentState, Track

CANDIDATE = ".nginx.conf.next"
LIVE_CONF = f"{NGINX_CONF_DIR}/nginx.conf"


class ContainerProxy:
    def __init__(
        self, project: Project, manifest: Manifest, start: Callable[[DeploymentState], None]
    ) -> None:
        self.project = project
        self.manifest = manifest
        self._start = start  # starts the nginx container and records it in state.nginx
        # nginx resolves service names when it loads its config: after a container is
        # (re)created, reload it even when the config text is unchanged, so that it dials
        # the new container's address and not the old one's.
        self.addresses_changed = False

    def folder(self) -> Path:
        """The folder nginx's container mounts, readable by its unprivileged user (and the
        request log it appends to: both must exist before the container starts)."""
        folder = self.project.root / PROXY_CONF_DIR
        self.project.ensure_state_dir()
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)  # explicitly: the operator's umask may be 077
        self._prepare_request_log()
        return folder

    def request_log(self) -> Path:
        """The host side of the file nginx logs every proxied request to (the collector's)."""
        return self.project.root / PROXY_LOG_DIR / REQUEST_LOG

    def _prepare_request_log(self) -> None:
        """Create the request log for nginx's unprivileged user (another uid than the
        operator's): it may append (write-only for others), only the operator reads it.
        The folder stays the operator's; the project folder above it keeps other local
        users out, while the bind mount lets the container reach the file directly."""
        log = self.request_log()
        log.parent.mkdir(exist_ok=True)
        log.parent.chmod(0o755)
        log.touch(exist_ok=True)
        log.chmod(0o622)

    def apply(self, state: DeploymentState, target: NginxTarget) -> None:
        """Make the running nginx serve `target` (starting it when none runs)."""
        conf = self.folder() / "nginx.conf"
        digest = hashlib.sha256(self.project.manifest_path.read_bytes()).hexdigest()
        wanted = render_nginx(self.manifest, target, digest=digest)
        if state.nginx is None:
            atomic_write(conf, wanted, mode=0o644)
            self._start(state)
            return
        current = conf.read_text() if conf.exists() else None
        if current is not None and _body(current) == _body(wanted) and not self.addresses_changed:
            if current != wanted:
                atomic_write(conf, wanted, mode=0o644)  # only the header changed: no reload
            return
        candidate = conf.parent / CANDIDATE
        atomic_write(candidate, wanted, mode=0o644)
        try:
            docker.nginx(state.nginx.container, "-t", "-q", conf=f"{NGINX_CONF_DIR}/{CANDIDATE}")
        except CommandFailed:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, conf)
        self.reload(state)

    def route(self, state: DeploymentState) -> None:
        """Serve what runs: all traffic to stable, or the canary at its weight."""
        if state.stable_instance() is None:
            raise SwiftDeployError("no stable instance to route traffic to")
        canary = state.canary_instance()
        target = proxy_target(
            self.manifest,
            canary_running=canary is not None,
            canary_weight=state.canary_weight if canary else 0,
        )
        self.apply(state, target)

    def serve_elsewhere(self, state: DeploymentState, track: Track) -> None:
        """Before `track`'s service is replaced, send its traffic to the other service, so no
        request reaches a container that is stopping (stable's goes to the canary)."""
        if track == "stable":
            if state.canary_instance() is None:
                raise SwiftDeployError("replacing the stable service needs a running canary")
            canary_service = f"{self.manifest.services.name}-canary"
            target = proxy_target(
                self.manifest, canary_running=True, canary_weight=100, stable_service=canary_service
            )
        else:
            target = proxy_target(self.manifest, canary_running=False)
        self.apply(state, target)

    def reload(self, state: DeploymentState) -> None:
        """`nginx -s reload`, returning once the old workers are gone."""
        assert state.nginx is not None
        workers = _children(state.nginx.pid)
        docker.nginx(state.nginx.container, "-s", "reload", conf=LIVE_CONF)
        _wait_new_workers(state.nginx.pid, workers)
        self.addresses_changed = False

    def forget_candidate(self) -> None:
        (self.project.root / PROXY_CONF_DIR / CANDIDATE).unlink(missing_ok=True)


def _body(config: str) -> str:
    """nginx.conf without its comment header (the manifest digest changes nothing nginx does)."""
    return "\n".join(line for line in config.splitlines() if not line.startswith("#"))


def _children(pid: int) -> set[int]:
    """The nginx master's worker processes (the host sees container processes)."""
    found: set[int] = set()
    with contextlib.suppress(OSError, ValueError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found.update(int(part) for part in text.split())
    return found


def _wait_new_workers(pid: int, before: set[int], timeout: float = 30.0) -> None:
    """Return once only workers on the new configuration are left.

    The old workers finish their in-flight requests and close idle keep-alive connections,
    then exit; until they have, a request may still follow the old upstreams, so stopping
    an instance the new configuration no longer uses must wait for this.
    """
    if not pid or not before:
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = _children(pid)
        if current - before and not current & before:
            return
        time.sleep(0.02)
