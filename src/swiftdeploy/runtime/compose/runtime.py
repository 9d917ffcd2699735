"""The compose runtime: the stack `init` renders, run by Docker Compose v2 (its CLI).

Services: `<name>` is the stable track, `<name>-canary` the canary track (in the `canary`
profile, so `deploy` starts only stable), `nginx` the proxy, `opa` the optional policy
sidecar. An instance is one container; its id is kept in the state so that a replaced
container is never mistaken for its successor.

Routing is an nginx reload inside the running nginx container, never a recreation (see
container_proxy). Per-instance HTTP (metrics, chaos) goes through nginx pinned to one
track; health uses `docker exec` in the instance's own container, as it must see one exact
container (during `promote stable` the stable track is served by the canary while the
stable service is replaced).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx

from swiftdeploy import _process
from swiftdeploy.artifact import Artifact, resolve_image
from swiftdeploy.checks import CheckResult
from swiftdeploy.clock import iso_utc
from swiftdeploy.errors import SwiftDeployError
from swiftdeploy.manifest import Manifest
from swiftdeploy.project import Project
from swiftdeploy.runtime import container_checks, container_orphans, docker
from swiftdeploy.runtime.base import Health, InstanceSpec
from swiftdeploy.runtime.compose.files import (
    CANARY_IMAGE_VAR,
    CANARY_PROFILE,
    CANARY_VERSION_VAR,
    CHAOS_TOKEN_VAR,
    COMPOSE_PROJECT,
    STABLE_IMAGE_VAR,
    STABLE_VERSION_VAR,
    compose_files,
)
from swiftdeploy.runtime.container_proxy import ContainerProxy
from swiftdeploy.state import (
    DeploymentState,
    InstanceRecord,
    ProcessRecord,
    load_state,
    save_state,
)

COMPOSE_TIMEOUT_S = 180.0


def project_name() -> str:
    """COMPOSE_PROJECT_NAME when set (several stacks on one host), else the rendered name."""
    return os.environ.get("COMPOSE_PROJECT_NAME") or COMPOSE_PROJECT


class ComposeRuntime:
    name = "compose"
    records_restarts = False  # Docker restarts containers (its restart policy)
    artifact_field = ("services", "image")

    @classmethod
    def generated_files(cls, project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
        return compose_files(project, manifest, digest)

    @classmethod
    def preflight(cls, manifest: Manifest) -> tuple[CheckResult, CheckResult]:
        return container_checks.preflight(manifest)

    def artifact(self, version: str) -> Artifact:
        return resolve_image(self.manifest.services.image, version)

    def __init__(self, project: Project, manifest: Manifest) -> None:
        self.project = project
        self.manifest = manifest
        self.compose_project = project_name()
        self.stable_service = manifest.services.name
        self.canary_service = f"{manifest.services.name}-canary"
        self.proxy = ContainerProxy(project, manifest, self._start_nginx)

    # -- docker compose ----------------------------------------------------------------------

    def _env(self, state: DeploymentState, versions: dict[str, str]) -> dict[str, str]:
        """The interpolation variables: the versions and image IDs that run, so compose
        recreates nothing (and a track restarted by Docker runs its pinned image)."""
        stable, canary = state.stable_instance(), state.canary_instance()
        default = self.manifest.services.version
        env = dict(os.environ)
        env[STABLE_VERSION_VAR] = versions.get("stable") or (stable.version if stable else default)
        env[CANARY_VERSION_VAR] = versions.get("canary") or (canary.version if canary else default)
        env[STABLE_IMAGE_VAR] = versions.get("stable_image") or pinned_image(stable, self.manifest)
        env[CANARY_IMAGE_VAR] = versions.get("canary_image") or pinned_image(canary, self.manifest)
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
        check: bool = True,
        versions: dict[str, str] | None = None,
    ) -> _process.Completed:
        argv = ["docker", "compose", "-p", self.compose_project]
        if self.project.compose_file.exists():
            argv += ["-f", str(self.project.compose_file)]
        argv += ["--project-directory", str(self.project.root), "--profile", CANARY_PROFILE]
        return _process.run(
            [*argv, *args],
            timeout=COMPOSE_TIMEOUT_S,
            check=check,
            cwd=self.project.root,
            env=self._env(state, versions or {}),
        )

    def _container_of(self, state: DeploymentState, service: str) -> str:
        out = self._compose(state, "ps", "-q", service).stdout.split()
        if not out:
            raise SwiftDeployError(f"compose service {service!r} has no running container")
        return out[0]

    def _start_service(self, state: DeploymentState, service: str, url: str) -> ProcessRecord:
        """`up -d --no-deps` a sidecar (nginx, opa) and wait until url answers."""
        self._compose(state, "up", "-d", "--no-deps", service)
        container = self._container_of(state, service)
        docker.wait_http(url, timeout=60, container=container)
        return ProcessRecord(pid=docker.running(container)[1], container=container)

    # -- state -------------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        state = load_state(self.project.state_file)
        forget_stopped_containers(state)
        if state.pending:
            # Containers a killed command started before their ids were saved.
            container_orphans.adopt_unsaved(
                state,
                {"canary": self.canary_service, "stable": self.stable_service},
                lambda service: self._compose(
                    state, "ps", "-q", service, check=False
                ).stdout.split(),
                port=self.manifest.services.port,
            )
        return state

    def save(self, state: DeploymentState) -> None:
        self.project.ensure_state_dir()
        state.runtime = self.name
        save_state(self.project.state_file, state)

    # -- instances ---------------------------------------------------------------------------

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        self.project.ensure_state_dir()
        service = self.canary_service if spec.track == "canary" else self.stable_service
        current = state.stable_instance() if spec.track == "stable" else state.canary_instance()
        if spec.track == "stable" and current is not None and state.nginx is not None:
            self.proxy.serve_elsewhere(state, "stable")  # the stable service is recreated
        versions: dict[str, str] = {spec.track: spec.version}
        if spec.artifact is not None:
            versions[f"{spec.track}_image"] = spec.artifact.pinned_ref
        if spec.chaos_token is not None:
            versions["token"] = spec.chaos_token
        self._compose(
            state, "up", "-d", "--no-deps", "--force-recreate", service, versions=versions
        )
        container = self._container_of(state, service)
        self.proxy.addresses_changed = True
        record = InstanceRecord(
            id=f"{spec.track}-{spec.version}-{secrets.token_hex(3)}",
            track=spec.track,
            mode="canary" if spec.mode == "canary" else "stable",
            version=spec.version,
            pid=docker.running(container)[1],
            address=f"{service}:{self.manifest.services.port}",
            log=f"docker logs {container[:12]}",
            started_at=iso_utc(timespec="microseconds"),
            container=container,
            artifact=spec.artifact.as_dict() if spec.artifact else None,
        )
        if current is not None and current.container == container:
            del state.instances[current.id]  # cannot happen with --force-recreate; be safe
        state.instances[record.id] = record
        return record

    def health(self, instance: InstanceRecord) -> Health:
        svc = self.manifest.services
        return docker.instance_health(instance, svc.port, svc.health)

    def client(self, instance: InstanceRecord, *, timeout: float = 5.0) -> httpx.Client:
        return docker.track_client(instance, self.manifest.nginx.port, timeout=timeout)

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        record = state.instances.pop(instance_id, None)
        if record is not None and record.container:
            # A container compose already replaced is gone; anything else drains first.
            docker.stop(record.container)

    # -- routing -----------------------------------------------------------------------------

    def route(self, state: DeploymentState) -> None:
        self.proxy.route(state)

    def supervise(self) -> str | None:
        return None  # the rendered restart policy: Docker restarts what exits

    def request_log(self) -> Path:
        return self.proxy.request_log()

    def data_plane_down(self, state: DeploymentState) -> bool:
        return state.nginx is None

    def _start_nginx(self, state: DeploymentState) -> None:
        # The log volume's one-shot chown, then nginx alone: its app dependency is already
        # healthy (checked by the lifecycle), and --no-deps never touches the app services.
        self._compose(state, "run", "--rm", "--no-deps", "-T", "nginx-log-init")
        url = f"http://127.0.0.1:{self.manifest.nginx.port}/healthz"
        state.nginx = self._start_service(state, "nginx", url)

    # -- policy engine -----------------------------------------------------------------------

    def start_policy_engine(self, state: DeploymentState) -> ProcessRecord:
        if not self.project.compose_file.exists():
            from swiftdeploy.init import render_project

            render_project(self.project, self.manifest)
        url = f"http://127.0.0.1:{self.manifest.policy.opa_port}/health"
        return self._start_service(state, "opa", url)

    # -- teardown ----------------------------------------------------------------------------

    def teardown(self, state: DeploymentState) -> list[str]:
        listed = self._compose(state, "ps", "-a", "--format", "{{.Name}}", check=False)
        stopped = [name for name in listed.stdout.split() if name]
        # Containers, the project's networks and its volumes (nginx logs); the history and
        # the state folder stay (teardown --clean removes the state folder).
        self._compose(
            state, "down", "--volumes", "--remove-orphans", "--timeout", str(docker.DRAIN_TIMEOUT_S)
        )
        forget_everything(state)
        self.proxy.forget_candidate()
        return stopped


def pinned_image(record: InstanceRecord | None, manifest: Manifest) -> str:
    """What a track's container is created from: its recorded image ID, else the manifest's."""
    artifact = record.pinned() if record is not None else None
    return artifact.pinned_ref if artifact is not None else manifest.services.image


def forget_stopped_containers(state: DeploymentState) -> None:
    """Drop from the state every container that no longer runs (after a crash, a reboot)."""
    for instance_id, record in list(state.instances.items()):
        if not docker.running(record.container)[0]:
            del state.instances[instance_id]
    if state.stable not in state.instances:
        state.stable = None
    if state.canary not in state.instances:
        state.canary = None
        state.canary_weight = 0
    if state.nginx and not docker.running(state.nginx.container)[0]:
        state.nginx = None
    if state.opa and not docker.running(state.opa.container)[0]:
        state.opa = None


def forget_everything(state: DeploymentState) -> None:
    """After a teardown: remove any instance container left, and clear the state."""
    for record in state.instances.values():  # anything started outside the stack's view
        docker.remove(record.container)
    state.instances.clear()
    state.stable = state.canary = None
    state.canary_weight = 0
    state.nginx = state.opa = None
