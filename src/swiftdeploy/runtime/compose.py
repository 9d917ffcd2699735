"""The compose runtime: the stack `init` renders, run by Docker Compose v2 (its CLI).

Services: `<name>` is the stable track, `<name>-canary` the canary track (in the `canary`
profile, so `deploy` starts only stable), `nginx` the proxy, `opa` the optional policy
sidecar. An instance is one container; its id is kept in the state so that a replaced
container is never mistaken for its successor.

Routing is an nginx reload inside the running nginx container, never a recreation: the
runtime renders nginx.conf for what runs, writes it beside the manifest as a candidate,
checks it with `nginx -t` in the container, renames it into place and sends `nginx -s
reload`. nginx mounts a folder of its own (PROXY_CONF_DIR, read-only, world-readable), not
the project folder, whose mode may keep nginx's unprivileged user out, nor the file: a
single-file bind mount pins the inode, so the container would never see a rename.

Per-instance HTTP (metrics, chaos): the app has no host port and container addresses are
private, so requests go through nginx on 127.0.0.1:<nginx.port> pinned to one track with
`X-Canary: always|never`. Health uses `docker exec` in the instance's own container, as
it must see one exact container (during `promote stable` the stable track is served by
the canary while the stable service is replaced).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

import httpx

from swiftdeploy import _process
from swiftdeploy.clock import iso_utc
from swiftdeploy.errors import CommandFailed, SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.manifest import Manifest
from swiftdeploy.project import Project
from swiftdeploy.render import (
    CANARY_PROFILE,
    CANARY_VERSION_VAR,
    CHAOS_TOKEN_VAR,
    COMPOSE_PROJECT,
    NGINX_CONF_DIR,
    PROXY_CONF_DIR,
    STABLE_VERSION_VAR,
    NginxTarget,
    compose_stack_nginx_target,
    render_nginx,
)
from swiftdeploy.runtime.base import Health, InstanceSpec
from swiftdeploy.state import DeploymentState, InstanceRecord, ProcessRecord, load_state, save_state

DRAIN_TIMEOUT_S = 30
COMPOSE_TIMEOUT_S = 180.0
CANDIDATE = ".nginx.conf.next"
_HEALTH_PROBE = (
    "import os, sys, urllib.request as u; "
    "r = u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('APP_PORT', '3000'), "
    "timeout=2); sys.stdout.write(r.read().decode())"
)


def project_name() -> str:
    """COMPOSE_PROJECT_NAME when set (several stacks on one host), else the rendered name."""
    return os.environ.get("COMPOSE_PROJECT_NAME") or COMPOSE_PROJECT


class ComposeRuntime:
    name = "compose"

    def __init__(self, project: Project, manifest: Manifest) -> None:
        self.project = project
        self.manifest = manifest
        self.compose_project = project_name()
        self.stable_service = manifest.services.name
        self.canary_service = f"{manifest.services.name}-canary"
        # nginx resolves service names when it loads its config: after a container is
        # (re)created, reload it even when the config text is unchanged, so that it dials
        # the new container's address and not the old one's.
        self._addresses_changed = False

    # -- docker ----------------------------------------------------------------------------

    def _env(self, state: DeploymentState, versions: dict[str, str]) -> dict[str, str]:
        """The interpolation variables: the versions that run, so compose recreates nothing."""
        stable, canary = state.stable_instance(), state.canary_instance()
        default = self.manifest.services.version
        env = dict(os.environ)
        env[STABLE_VERSION_VAR] = versions.get("stable") or (stable.version if stable else default)
        env[CANARY_VERSION_VAR] = versions.get("canary") or (canary.version if canary else default)
        token_path = self.project.state_dir / "chaos.token"
        token = versions.get("token")
        if token is None and token_path.exists():
            token = token_path.read_text().strip()
        env[CHAOS_TOKEN_VAR] = token or ""
        return env

    def _compose(
        self,
        state: DeploymentState,
        *args: str,
        timeout: float = COMPOSE_TIMEOUT_S,
        check: bool = True,
        versions: dict[str, str] | None = None,
    ) -> _process.Completed:
        argv = ["docker", "compose", "-p", self.compose_project]
        if self.project.compose_file.exists():
            argv += ["-f", str(self.project.compose_file)]
        argv += ["--project-directory", str(self.project.root), "--profile", CANARY_PROFILE]
        return _process.run(
            [*argv, *args],
            timeout=timeout,
            check=check,
            cwd=self.project.root,
            env=self._env(state, versions or {}),
        )

    def _container_id(self, state: DeploymentState, service: str) -> str:
        out = self._compose(state, "ps", "-q", service).stdout.split()
        if not out:
            raise SwiftDeployError(f"compose service {service!r} has no running container")
        return out[0]

    def _inspect(self, container: str) -> dict[str, object] | None:
        if not container:
            return None
        result = _process.run(["docker", "inspect", container], timeout=30, check=False)
        if result.returncode != 0:
            return None
        data = json.loads(result.stdout or "[]")
        return data[0] if data else None

    def _running(self, container: str) -> tuple[bool, int]:
        info = self._inspect(container)
        state = info.get("State") if info else None
        if not isinstance(state, dict) or not state.get("Running"):
            return False, 0
        return True, int(state.get("Pid") or 0)

    # -- state -----------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        state = load_state(self.project.state_file)
        state.runtime = self.name
        for instance_id, record in list(state.instances.items()):
            if not self._running(record.container)[0]:
                del state.instances[instance_id]
        if state.stable not in state.instances:
            state.stable = None
        if state.canary not in state.instances:
            state.canary = None
            state.canary_weight = 0
        if state.nginx and not self._running(state.nginx.config)[0]:
            state.nginx = None
        if state.opa and not self._running(state.opa.config)[0]:
            state.opa = None
        return state

    def save(self, state: DeploymentState) -> None:
        self.project.ensure_state_dir()
        state.runtime = self.name
        save_state(self.project.state_file, state)

    # -- instances -------------------------------------------------------------------------

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        self.project.ensure_state_dir()
        service = self.canary_service if spec.track == "canary" else self.stable_service
        current = state.stable_instance() if spec.track == "stable" else state.canary_instance()
        canary = state.canary_instance()
        if spec.track == "stable" and current is not None and state.nginx is not None:
            if canary is None:
                raise SwiftDeployError("replacing the stable service needs a running canary")
            # The stable service is about to be recreated: serve its track from the canary
            # container meanwhile, so no request reaches a container that is stopping.
            self._apply_nginx(
                state,
                compose_stack_nginx_target(
                    self.manifest,
                    canary_running=True,
                    canary_weight=100,
                    stable_service=self.canary_service,
                ),
            )
        versions: dict[str, str] = {spec.track: spec.version}
        if spec.chaos_token is not None:
            versions["token"] = spec.chaos_token
        self._compose(
            state, "up", "-d", "--no-deps", "--force-recreate", service, versions=versions
        )
        self._addresses_changed = True
        container = self._container_id(state, service)
        pid = self._running(container)[1]
        stamp = iso_utc(timespec="microseconds")
        record = InstanceRecord(
            id=f"{spec.track}-{spec.version}-{secrets.token_hex(3)}",
            track=spec.track,
            mode="canary" if spec.mode == "canary" else "stable",
            version=spec.version,
            pid=pid,
            address=f"{service}:{self.manifest.services.port}",
            log=f"docker logs {container[:12]}",
            started_at=stamp,
            container=container,
        )
        if current is not None and current.container == container:
            del state.instances[current.id]  # cannot happen with --force-recreate; be safe
        state.instances[record.id] = record
        return record

    def _wait_container_http(self, container: str, url: str, *, timeout: float) -> None:
        """Wait for url; if it never answers, say why: the container's state and log tail."""
        try:
            _wait_http(url, timeout=timeout)
        except SwiftDeployError as exc:
            raise SwiftDeployError(f"{exc.message}; {container_report(container)}") from exc

    def health(self, instance: InstanceRecord) -> Health:
        running, _ = self._running(instance.container)
        if not running:
            return Health(
                False,
                f"container {instance.container[:12]} has exited; "
                + container_report(instance.container),
                exited=True,
            )
        result = _process.run(
            ["docker", "exec", instance.container, "python3", "-c", _HEALTH_PROBE],
            timeout=15,
            check=False,
        )
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            return Health(False, f"/healthz: {lines[-1] if lines else 'no answer'}")
        try:
            body = json.loads(result.stdout)
        except ValueError:
            return Health(False, "/healthz answered a body that is not JSON")
        return Health(True, "ok", mode=body.get("mode"), version=body.get("version"))

    def client(self, instance: InstanceRecord, *, timeout: float = 5.0) -> httpx.Client:
        pin = "always" if instance.track == "canary" else "never"
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.manifest.nginx.port}",
            headers={"X-Canary": pin},
            timeout=timeout,
        )

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        record = state.instances.pop(instance_id, None)
        if record is None or not record.container:
            return
        # A container that compose already replaced is gone; anything else drains first
        # (SIGTERM, the service finishes its in-flight requests) and is then removed.
        _process.run(
            ["docker", "stop", "-t", str(DRAIN_TIMEOUT_S), record.container],
            timeout=DRAIN_TIMEOUT_S + 30,
            check=False,
        )
        _process.run(["docker", "rm", "-f", record.container], timeout=60, check=False)

    # -- routing ---------------------------------------------------------------------------

    def route(self, state: DeploymentState) -> None:
        if state.stable_instance() is None:
            raise SwiftDeployError("no stable instance to route traffic to")
        canary = state.canary_instance()
        target = compose_stack_nginx_target(
            self.manifest,
            canary_running=canary is not None,
            canary_weight=state.canary_weight if canary else 0,
        )
        self._apply_nginx(state, target)

    def _digest(self) -> str:
        return hashlib.sha256(self.project.manifest_path.read_bytes()).hexdigest()

    def proxy_dir(self) -> Path:
        """The folder nginx's container mounts, readable by its unprivileged user."""
        folder = self.project.root / PROXY_CONF_DIR
        self.project.ensure_state_dir()
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)  # explicitly: the operator's umask may be 077
        return folder

    def _apply_nginx(self, state: DeploymentState, target: NginxTarget) -> None:
        conf = self.proxy_dir() / "nginx.conf"
        wanted = render_nginx(self.manifest, target, digest=self._digest())
        if state.nginx is None:
            atomic_write(conf, wanted, mode=0o644)
            self._start_nginx(state)
            return
        container = state.nginx.config
        current = conf.read_text() if conf.exists() else None
        if current is not None and _body(current) == _body(wanted) and not self._addresses_changed:
            if current != wanted:
                atomic_write(conf, wanted, mode=0o644)  # only the header changed: no reload
            return
        candidate = conf.parent / CANDIDATE
        atomic_write(candidate, wanted, mode=0o644)
        try:
            _process.run(
                [
                    "docker",
                    "exec",
                    container,
                    "nginx",
                    "-t",
                    "-q",
                    "-c",
                    f"{NGINX_CONF_DIR}/{CANDIDATE}",
                ],
                timeout=30,
            )
        except CommandFailed:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, conf)
        workers = _children(state.nginx.pid)
        _process.run(
            [
                "docker",
                "exec",
                container,
                "nginx",
                "-s",
                "reload",
                "-c",
                f"{NGINX_CONF_DIR}/nginx.conf",
            ],
            timeout=30,
        )
        _wait_new_workers(state.nginx.pid, workers)
        self._addresses_changed = False

    def _start_nginx(self, state: DeploymentState) -> None:
        # The log volume's one-shot chown, then nginx alone: its app dependency is already
        # healthy (checked by the lifecycle), and --no-deps never touches the app services.
        self._compose(state, "run", "--rm", "--no-deps", "-T", "nginx-log-init")
        self._compose(state, "up", "-d", "--no-deps", "nginx")
        container = self._container_id(state, "nginx")
        self._wait_container_http(
            container, f"http://127.0.0.1:{self.manifest.nginx.port}/healthz", timeout=60
        )
        state.nginx = ProcessRecord(pid=self._running(container)[1], config=container)

    # -- policy engine ---------------------------------------------------------------------

    def ensure_policy_engine(self, state: DeploymentState) -> None:
        if self.manifest.policy.engine != "opa" or state.opa is not None:
            return
        if not self.project.compose_file.exists():
            from swiftdeploy.init import render_project

            render_project(self.project, self.manifest)
        self._compose(state, "up", "-d", "--no-deps", "opa")
        container = self._container_id(state, "opa")
        self._wait_container_http(
            container, f"http://127.0.0.1:{self.manifest.policy.opa_port}/health", timeout=60
        )
        state.opa = ProcessRecord(pid=self._running(container)[1], config=container)

    # -- teardown --------------------------------------------------------------------------

    def teardown(self, state: DeploymentState) -> list[str]:
        listed = self._compose(state, "ps", "-a", "--format", "{{.Name}}", check=False)
        stopped = [name for name in listed.stdout.split() if name]
        # Containers, the project's networks and its volumes (nginx logs); the history and
        # the state folder stay (teardown --clean removes the state folder).
        self._compose(
            state, "down", "--volumes", "--remove-orphans", "--timeout", str(DRAIN_TIMEOUT_S)
        )
        for record in state.instances.values():  # anything started outside compose's view
            _process.run(["docker", "rm", "-f", record.container], timeout=60, check=False)
        state.instances.clear()
        state.stable = state.canary = None
        state.canary_weight = 0
        state.nginx = state.opa = None
        (self.project.root / PROXY_CONF_DIR / CANDIDATE).unlink(missing_ok=True)
        return stopped


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


def container_report(container: str, *, lines: int = 3) -> str:
    """One line on why a container is not serving: its state, then its last log lines."""
    info = _process.run(
        ["docker", "inspect", "--format", "{{json .State}}", container], timeout=30, check=False
    )
    try:
        state = json.loads(info.stdout) if info.returncode == 0 else {}
    except ValueError:
        state = {}
    if not isinstance(state, dict) or not state:
        return f"container {container[:12]} is gone"
    status = str(state.get("Status", "unknown"))
    if state.get("Restarting") or status == "exited":
        status += f" (exit code {state.get('ExitCode')})"
    logs = _process.run(
        ["docker", "logs", "--tail", str(lines), container], timeout=30, check=False
    )
    tail = [line.strip() for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    said = " | ".join(tail[-lines:]) or "nothing"
    return f"container {container[:12]} is {status}; its log ends: {said}"


def _wait_http(url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        time.sleep(0.2)
    raise SwiftDeployError(f"{url} did not answer within {timeout:g}s ({last})")
