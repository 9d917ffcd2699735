"""The swarm runtime: the stack `docker-stack.yml` describes, run by `docker stack deploy`.

Services (see files.stack_data): `<name>` is the stable track and `<name>-canary` the
canary track, one replica each at most; `nginx` the proxy (host-mode port); `opa` the
optional policy server (host network, 127.0.0.1 only). The stack file is declarative:
replica counts and versions are variables, and every change is a re-deploy of the whole
stack with the values that should run (`docker stack deploy` updates only the services
whose spec changed). An app version change is a swarm rolling update (`order:
start-first`, health-checked, `failure_action: rollback`).

Traffic moves by nginx reloads, as in the compose runtime (runtime/container_proxy): the
canary share is nginx's weighted slots, and a service whose task is about to be replaced
gets no traffic while it is (its track is served by the other service). The app services
use `endpoint_mode: dnsrr`, so nginx resolves a service name to its task's address when
it (re)loads; the runtime reloads only once the name resolves to exactly the task it
wants, so a stopping task never receives a request.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path

import httpx

from swiftdeploy import _process
from swiftdeploy.artifact import Artifact, resolve_image
from swiftdeploy.checks import CheckResult
from swiftdeploy.clock import iso_utc
from swiftdeploy.containers import CHAOS_TOKEN_FILE
from swiftdeploy.errors import SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.manifest import Manifest
from swiftdeploy.project import Project
from swiftdeploy.runtime import container_checks, container_orphans, docker
from swiftdeploy.runtime.base import Health, InstanceSpec
from swiftdeploy.runtime.compose.files import compose_files
from swiftdeploy.runtime.compose.runtime import forget_everything, forget_stopped_containers
from swiftdeploy.runtime.container_proxy import ContainerProxy
from swiftdeploy.runtime.swarm.files import INSTANCE_ENV, STACK_NAME, render_stack
from swiftdeploy.runtime.swarm.variables import Starting, stack_variables
from swiftdeploy.state import (
    DeploymentState,
    InstanceRecord,
    ProcessRecord,
    load_state,
    save_state,
)

STACK_TIMEOUT_S = 180.0
TASK_START_TIMEOUT_S = 90.0
DNS_TIMEOUT_S = 60.0
STACK_NAME_ENV = "SWIFTDEPLOY_STACK_NAME"


def stack_name() -> str:
    """SWIFTDEPLOY_STACK_NAME when set (several stacks on one swarm), else `swiftdeploy`."""
    return os.environ.get(STACK_NAME_ENV) or STACK_NAME


class SwarmRuntime:
    name = "swarm"
    records_restarts = False  # Docker restarts containers (its restart policy)
    artifact_field = ("services", "image")

    @classmethod
    def generated_files(cls, project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
        return {
            **compose_files(project, manifest, digest),
            project.stack_file: render_stack(manifest, digest=digest),
        }

    @classmethod
    def preflight(cls, manifest: Manifest) -> tuple[CheckResult, CheckResult]:
        return container_checks.preflight(manifest)

    def artifact(self, version: str) -> Artifact:
        return resolve_image(self.manifest.services.image, version)

    def __init__(self, project: Project, manifest: Manifest) -> None:
        self.project = project
        self.manifest = manifest
        self.stack = stack_name()
        self.stable_service = manifest.services.name
        self.canary_service = f"{manifest.services.name}-canary"
        self.proxy = ContainerProxy(project, manifest, self._start_nginx)

    # -- docker ----------------------------------------------------------------------------

    def _service(self, service: str) -> str:
        return f"{self.stack}_{service}"

    def _write_files(self) -> None:
        """The stack file as the manifest renders it, and the chaos token its secret reads."""
        digest = hashlib.sha256(self.project.manifest_path.read_bytes()).hexdigest()
        wanted = render_stack(self.manifest, digest=digest)
        path = self.project.stack_file
        if not path.exists() or path.read_text() != wanted:
            atomic_write(path, wanted, mode=0o644)
        self.proxy.folder()  # a bind mount's source must exist before swarm starts the task
        if not self.project.policies_dir.exists():
            from swiftdeploy.init import render_project

            render_project(self.project, self.manifest)
        token = self.project.root / CHAOS_TOKEN_FILE
        if self.manifest.chaos.auth == "token" and not token.exists():
            # The same file (and format) as Deployment.chaos_token, which the CLI reads.
            self.project.ensure_state_dir()
            atomic_write(token, secrets.token_urlsafe(24) + "\n", mode=0o600)

    def _deploy(
        self,
        state: DeploymentState,
        *,
        starting: Starting | None = None,
        **replicas: int | None,
    ) -> None:
        """`docker stack deploy` with what should run: the state's, unless overridden
        (replicas by service: stable, canary, nginx, opa)."""
        self._write_files()
        env = {**os.environ, **stack_variables(state, self.manifest, replicas, starting)}
        result = _process.run(
            [
                "docker",
                "stack",
                "deploy",
                "--compose-file",
                str(self.project.stack_file),
                "--resolve-image",
                "never",  # local images, no registry to ask
                "--prune",
                "--detach=true",
                self.stack,
            ],
            timeout=STACK_TIMEOUT_S,
            cwd=self.project.root,
            env=env,
        )
        # What `docker stack deploy` said (e.g. "Ignoring unsupported options: ..."), kept
        # for the operator: swarm silently drops compose keys it does not support.
        if result.stderr.strip():
            self.project.ensure_state_dir()
            with (self.project.logs_dir / "stack-deploy.log").open("a") as log:
                log.write(result.stderr)

    def _running_containers(self, service: str) -> list[str]:
        """The service's running task containers, newest first."""
        label = f"label=com.docker.swarm.service.name={self._service(service)}"
        return docker.listed(
            "ps", "-q", "--no-trunc", "--filter", label, "--filter", "status=running"
        )

    def _wait_container(
        self, service: str, *, exclude: set[str], instance: str | None = None
    ) -> str:
        """The service's newest running container not in `exclude` (of `instance`, if given)."""
        deadline = time.monotonic() + TASK_START_TIMEOUT_S
        while time.monotonic() < deadline:
            for container in self._running_containers(service):
                if container in exclude:
                    continue
                if instance is None or docker.env_of(container).get(INSTANCE_ENV) == instance:
                    return container
            time.sleep(0.3)
        tasks = _process.run(
            [
                "docker",
                "service",
                "ps",
                "--no-trunc",
                "--format",
                "{{.Name}} {{.CurrentState}} {{.Error}}",
                self._service(service),
            ],
            timeout=30,
            check=False,
        )
        raise SwiftDeployError(
            f"swarm service {self._service(service)} started no task within "
            f"{TASK_START_TIMEOUT_S:g}s: {tasks.stdout.strip() or tasks.stderr.strip()}"
        )

    def _start_task(self, service: str, url: str, *, exclude: set[str]) -> ProcessRecord:
        """Wait for a sidecar's (nginx, opa) new task and until url answers."""
        container = self._wait_container(service, exclude=exclude)
        docker.wait_http(url, timeout=60, container=container)
        return ProcessRecord(pid=docker.running(container)[1], container=container)

    def _address(self, container: str) -> str | None:
        info = docker.inspect(container) or {}
        settings = info.get("NetworkSettings")
        networks = settings.get("Networks") if isinstance(settings, dict) else None
        net = networks.get(self.manifest.network.name) if isinstance(networks, dict) else None
        address = net.get("IPAddress") if isinstance(net, dict) else None
        return str(address) if address else None

    # -- state -------------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        """Drop what no longer runs, but adopt first: a task swarm restarted (a new container
        of the same instance, recognised by its SWIFTDEPLOY_INSTANCE) or a restarted
        nginx/OPA task."""
        state = load_state(self.project.state_file)
        adopted = moved = False
        for record in state.instances.values():
            if record.container and not docker.running(record.container)[0]:
                service = self.canary_service if record.track == "canary" else self.stable_service
                for container in self._running_containers(service):
                    if docker.env_of(container).get(INSTANCE_ENV) == record.id:
                        record.container = container
                        record.pid = docker.running(container)[1]
                        record.log = f"docker logs {container[:12]}"
                        adopted = moved = True
                        break
        for process, service in ((state.nginx, "nginx"), (state.opa, "opa")):
            if process is not None and not docker.running(process.container)[0]:
                running = self._running_containers(service)
                if running:
                    process.container, process.pid = running[0], docker.running(running[0])[1]
                    adopted = True
        if adopted:
            self.save(state)
        forget_stopped_containers(state)
        if state.pending:
            # Tasks a killed command started before their container ids were saved.
            container_orphans.adopt_unsaved(
                state,
                {"canary": self.canary_service, "stable": self.stable_service},
                self._running_containers,
                port=self.manifest.services.port,
                instance_env=INSTANCE_ENV,
            )
        if moved and state.nginx is not None:
            # nginx resolved the replaced task's address: reload it once the name resolves
            # to the new task (nginx.conf itself is unchanged).
            self._wait_dns(state)
            self.proxy.reload(state)
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
        if current is not None and state.nginx is not None:
            # The service's task is about to be replaced (a rolling update).
            self.proxy.serve_elsewhere(state, spec.track)
        known = {record.container for record in state.instances.values()}
        instance_id = f"{spec.track}-{spec.version}-{secrets.token_hex(3)}"
        starting = Starting(spec.track, instance_id, spec.version, spec.artifact)
        self._deploy(state, starting=starting, **{spec.track: 1})
        container = self._wait_container(service, exclude=known, instance=instance_id)
        record = InstanceRecord(
            id=instance_id,
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
        state.instances[record.id] = record
        return record

    def health(self, instance: InstanceRecord) -> Health:
        svc = self.manifest.services
        return docker.instance_health(instance, svc.port, svc.health)

    def client(self, instance: InstanceRecord, *, timeout: float = 5.0) -> httpx.Client:
        return docker.track_client(instance, self.manifest.nginx.port, timeout=timeout)

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        record = state.instances.pop(instance_id, None)
        if record is None or not record.container:
            return
        # Scale to what the state says runs (a canary no longer in it goes to 0 replicas;
        # a replaced task is already stopping), then wait for the container to drain.
        self._deploy(state)
        deadline = time.monotonic() + docker.DRAIN_TIMEOUT_S + 30
        while docker.running(record.container)[0] and time.monotonic() < deadline:
            time.sleep(0.3)
        if docker.running(record.container)[0]:
            docker.remove(record.container)

    # -- routing -----------------------------------------------------------------------------

    def route(self, state: DeploymentState) -> None:
        if state.stable_instance() is not None and state.nginx is not None:
            self._wait_dns(state)
        self.proxy.route(state)

    def supervise(self) -> str | None:
        return None  # the rendered restart policy: Docker restarts what exits

    def request_log(self) -> Path:
        return self.proxy.request_log()

    def data_plane_down(self, state: DeploymentState) -> bool:
        return False  # swarm restarts the nginx task itself; the state may lag behind it

    def _wait_dns(self, state: DeploymentState) -> None:
        """Wait until each track's service name resolves to exactly its instance's task.

        nginx resolves upstream names when it loads its configuration: a reload while a
        replaced task is still listed would send requests to a task that is stopping.
        """
        wanted: dict[str, str] = {}
        for record, service in (
            (state.stable_instance(), self.stable_service),
            (state.canary_instance(), self.canary_service),
        ):
            address = self._address(record.container) if record else None
            if address:
                wanted[service] = address
        deadline = time.monotonic() + DNS_TIMEOUT_S
        seen: dict[str, set[str]] = {}
        while True:
            seen = {service: self._resolve(state, service) for service in wanted}
            if all(seen[service] == {address} for service, address in wanted.items()):
                return
            if time.monotonic() >= deadline:
                raise SwiftDeployError(
                    f"service names did not converge within {DNS_TIMEOUT_S:g}s: "
                    f"want {wanted}, nginx resolves {seen}"
                )
            time.sleep(0.3)

    def _resolve(self, state: DeploymentState, service: str) -> set[str]:
        assert state.nginx is not None
        result = docker.execute(
            state.nginx.container, "getent", "ahostsv4", service, timeout=15, check=False
        )
        return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}

    def _start_nginx(self, state: DeploymentState) -> None:
        known = {state.nginx.container} if state.nginx else set()
        self._deploy(state, nginx=1)
        url = f"http://127.0.0.1:{self.manifest.nginx.port}/healthz"
        state.nginx = self._start_task("nginx", url, exclude=known)

    # -- policy engine -----------------------------------------------------------------------

    def start_policy_engine(self, state: DeploymentState) -> ProcessRecord:
        self._deploy(state, opa=1)
        url = f"http://127.0.0.1:{self.manifest.policy.opa_port}/health"
        return self._start_task("opa", url, exclude=set())

    # -- teardown ----------------------------------------------------------------------------

    def teardown(self, state: DeploymentState) -> list[str]:
        stopped = docker.listed("stack", "services", "--format", "{{.Name}}", self.stack)
        if stopped:
            # Services, their tasks, the stack's networks and its secret; the history and
            # the state folder stay (teardown --clean removes the state folder).
            _process.run(["docker", "stack", "rm", self.stack], timeout=STACK_TIMEOUT_S)
        self._wait_gone()
        forget_everything(state)
        self.proxy.forget_candidate()
        return stopped

    def _wait_gone(self) -> None:
        """`docker stack rm` returns at once; wait until its containers and network are gone
        (so a new deploy, or the next stack on the same network name, starts clean)."""
        label = f"label=com.docker.stack.namespace={self.stack}"
        deadline = time.monotonic() + docker.DRAIN_TIMEOUT_S + 60
        while time.monotonic() < deadline:
            containers = docker.listed("ps", "-a", "-q", "--filter", label)
            networks = docker.listed("network", "ls", "-q", "--filter", label)
            if not containers and not networks:
                return
            time.sleep(0.5)
        raise SwiftDeployError(f"stack {self.stack} was not removed within the timeout")
