"""The swarm runtime: the stack `docker-stack.yml` describes, run by `docker stack deploy`.

Services (see render.stack_data): `<name>` is the stable track and `<name>-canary` the
canary track, one replica each at most; `nginx` the proxy (host-mode port); `opa` the
optional policy server (host network, 127.0.0.1 only). The stack file is declarative:
replica counts and versions are variables, and every change is a re-deploy of the whole
stack with the values that should run (`docker stack deploy` updates only the services
whose spec changed). An app version change is a swarm rolling update (`order:
start-first`, health-checked, `failure_action: rollback`).

Traffic moves by nginx reloads, as in the compose runtime (which this one extends): the
canary share is nginx's weighted slots, and a service whose task is about to be replaced
gets no traffic while it is (its track is served by the other service). The app services
use `endpoint_mode: dnsrr`, so nginx resolves a service name to its task's address when
it (re)loads; the runtime reloads only once the name resolves to exactly the task it
wants, so a stopping task never receives a request.
"""

from __future__ import annotations

import os
import secrets
import time

from swiftdeploy import _process
from swiftdeploy.clock import iso_utc
from swiftdeploy.errors import SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.manifest import Manifest
from swiftdeploy.project import Project
from swiftdeploy.render import (
    CANARY_INSTANCE_VAR,
    CANARY_REPLICAS_VAR,
    CANARY_VERSION_VAR,
    CHAOS_TOKEN_FILE,
    INSTANCE_ENV,
    NGINX_CONF_DIR,
    NGINX_REPLICAS_VAR,
    OPA_REPLICAS_VAR,
    PROXY_CONF_DIR,
    STABLE_INSTANCE_VAR,
    STABLE_REPLICAS_VAR,
    STABLE_VERSION_VAR,
    STACK_NAME,
    compose_stack_nginx_target,
    render_stack,
)
from swiftdeploy.runtime.base import InstanceSpec
from swiftdeploy.runtime.compose import CANDIDATE, DRAIN_TIMEOUT_S, ComposeRuntime
from swiftdeploy.state import DeploymentState, InstanceRecord, ProcessRecord, load_state

STACK_TIMEOUT_S = 180.0
TASK_START_TIMEOUT_S = 90.0
DNS_TIMEOUT_S = 60.0
STACK_NAME_ENV = "SWIFTDEPLOY_STACK_NAME"


def stack_name() -> str:
    """SWIFTDEPLOY_STACK_NAME when set (several stacks on one swarm), else `swiftdeploy`."""
    return os.environ.get(STACK_NAME_ENV) or STACK_NAME


class SwarmRuntime(ComposeRuntime):
    name = "swarm"

    def __init__(self, project: Project, manifest: Manifest) -> None:
        super().__init__(project, manifest)
        self.stack = stack_name()

    # -- docker ----------------------------------------------------------------------------

    def _service(self, service: str) -> str:
        return f"{self.stack}_{service}"

    def _write_files(self) -> None:
        """The stack file as the manifest renders it, and the chaos token its secret reads."""
        digest = self._digest()
        wanted = render_stack(self.manifest, digest=digest)
        path = self.project.stack_file
        if not path.exists() or path.read_text() != wanted:
            atomic_write(path, wanted, mode=0o644)
        self.proxy_dir()  # a bind mount's source must exist before swarm starts the task
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
        stable: int | None = None,
        canary: int | None = None,
        nginx: int | None = None,
        opa: int | None = None,
        stable_version: str | None = None,
        canary_version: str | None = None,
        stable_instance: str | None = None,
        canary_instance: str | None = None,
    ) -> None:
        """`docker stack deploy` with what should run: the state's, unless overridden."""
        self._write_files()
        stable_rec, canary_rec = state.stable_instance(), state.canary_instance()
        default = self.manifest.services.version
        env = dict(os.environ)
        env[STABLE_REPLICAS_VAR] = str(stable if stable is not None else int(bool(stable_rec)))
        env[CANARY_REPLICAS_VAR] = str(canary if canary is not None else int(bool(canary_rec)))
        env[NGINX_REPLICAS_VAR] = str(nginx if nginx is not None else int(bool(state.nginx)))
        env[OPA_REPLICAS_VAR] = str(opa if opa is not None else int(bool(state.opa)))
        env[STABLE_VERSION_VAR] = stable_version or (stable_rec.version if stable_rec else default)
        env[CANARY_VERSION_VAR] = canary_version or (
            canary_rec.version if canary_rec else env[STABLE_VERSION_VAR]
        )
        env[STABLE_INSTANCE_VAR] = stable_instance or (stable_rec.id if stable_rec else "")
        env[CANARY_INSTANCE_VAR] = canary_instance or (canary_rec.id if canary_rec else "")
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
        out = _process.run(
            [
                "docker",
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                f"label=com.docker.swarm.service.name={self._service(service)}",
                "--filter",
                "status=running",
            ],
            timeout=30,
        ).stdout
        return out.split()

    def _wait_container(
        self, service: str, *, exclude: set[str], instance: str | None = None
    ) -> str:
        """The service's newest running container not in `exclude` (of `instance`, if given)."""
        deadline = time.monotonic() + TASK_START_TIMEOUT_S
        while time.monotonic() < deadline:
            for container in self._running_containers(service):
                if container in exclude:
                    continue
                if instance is None or self._env_of(container).get(INSTANCE_ENV) == instance:
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

    def _env_of(self, container: str) -> dict[str, str]:
        info = self._inspect(container) or {}
        config = info.get("Config")
        env = config.get("Env") if isinstance(config, dict) else None
        pairs = [str(item).partition("=") for item in env or []]
        return {key: value for key, _, value in pairs}

    def _address(self, container: str) -> str | None:
        info = self._inspect(container) or {}
        settings = info.get("NetworkSettings")
        networks = settings.get("Networks") if isinstance(settings, dict) else None
        net = networks.get(self.manifest.network.name) if isinstance(networks, dict) else None
        address = net.get("IPAddress") if isinstance(net, dict) else None
        return str(address) if address else None

    # -- state -----------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        """As compose, but a task swarm restarted (a new container of the same instance,
        recognised by its SWIFTDEPLOY_INSTANCE) or a restarted nginx/OPA task is adopted."""
        state = load_state(self.project.state_file)
        adopted = moved = False
        for record in state.instances.values():
            if record.container and not self._running(record.container)[0]:
                service = self.canary_service if record.track == "canary" else self.stable_service
                for container in self._running_containers(service):
                    if self._env_of(container).get(INSTANCE_ENV) == record.id:
                        record.container = container
                        record.pid = self._running(container)[1]
                        record.log = f"docker logs {container[:12]}"
                        adopted = moved = True
                        break
        for attribute, service in (("nginx", "nginx"), ("opa", "opa")):
            process: ProcessRecord | None = getattr(state, attribute)
            if process is not None and not self._running(process.config)[0]:
                running = self._running_containers(service)
                if running:
                    process.config, process.pid = running[0], self._running(running[0])[1]
                    adopted = True
        if adopted:
            self.save(state)
        state = super().load()
        if moved and state.nginx is not None:
            # nginx resolved the replaced task's address: reload it once the name resolves
            # to the new task (nginx.conf itself is unchanged).
            self._wait_dns(state)
            _process.run(
                [
                    "docker",
                    "exec",
                    state.nginx.config,
                    "nginx",
                    "-s",
                    "reload",
                    "-c",
                    f"{NGINX_CONF_DIR}/nginx.conf",
                ],
                timeout=30,
            )
        return state

    # -- instances -------------------------------------------------------------------------

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        self.project.ensure_state_dir()
        service = self.canary_service if spec.track == "canary" else self.stable_service
        current = state.stable_instance() if spec.track == "stable" else state.canary_instance()
        if current is not None and state.nginx is not None:
            # The service's task is about to be replaced (a rolling update): serve its
            # track from the other service meanwhile, so no request reaches a stopping task.
            if spec.track == "stable":
                if state.canary_instance() is None:
                    raise SwiftDeployError("replacing the stable service needs a running canary")
                target = compose_stack_nginx_target(
                    self.manifest,
                    canary_running=True,
                    canary_weight=100,
                    stable_service=self.canary_service,
                )
            else:
                target = compose_stack_nginx_target(self.manifest, canary_running=False)
            self._apply_nginx(state, target)
        known = {record.container for record in state.instances.values()}
        instance_id = f"{spec.track}-{spec.version}-{secrets.token_hex(3)}"
        if spec.track == "stable":
            self._deploy(state, stable=1, stable_version=spec.version, stable_instance=instance_id)
        else:
            self._deploy(state, canary=1, canary_version=spec.version, canary_instance=instance_id)
        container = self._wait_container(service, exclude=known, instance=instance_id)
        stamp = iso_utc(timespec="microseconds")
        record = InstanceRecord(
            id=instance_id,
            track=spec.track,
            mode="canary" if spec.mode == "canary" else "stable",
            version=spec.version,
            pid=self._running(container)[1],
            address=f"{service}:{self.manifest.services.port}",
            log=f"docker logs {container[:12]}",
            started_at=stamp,
            container=container,
        )
        state.instances[record.id] = record
        return record

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        record = state.instances.pop(instance_id, None)
        if record is None or not record.container:
            return
        # Scale to what the state says runs (a canary no longer in it goes to 0 replicas;
        # a replaced task is already stopping), then wait for the container to drain.
        self._deploy(state)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S + 30
        while self._running(record.container)[0] and time.monotonic() < deadline:
            time.sleep(0.3)
        if self._running(record.container)[0]:
            _process.run(["docker", "rm", "-f", record.container], timeout=60, check=False)

    # -- routing ---------------------------------------------------------------------------

    def route(self, state: DeploymentState) -> None:
        if state.nginx is not None:
            self._wait_dns(state)
        super().route(state)

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
        result = _process.run(
            ["docker", "exec", state.nginx.config, "getent", "ahostsv4", service],
            timeout=15,
            check=False,
        )
        return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}

    def _start_nginx(self, state: DeploymentState) -> None:
        known = {state.nginx.config} if state.nginx else set()
        self._deploy(state, nginx=1)
        container = self._wait_container("nginx", exclude=known)
        self._wait_container_http(
            container, f"http://127.0.0.1:{self.manifest.nginx.port}/healthz", timeout=60
        )
        state.nginx = ProcessRecord(pid=self._running(container)[1], config=container)

    # -- policy engine ---------------------------------------------------------------------

    def ensure_policy_engine(self, state: DeploymentState) -> None:
        if self.manifest.policy.engine != "opa" or state.opa is not None:
            return
        self._deploy(state, opa=1)
        container = self._wait_container("opa", exclude=set())
        self._wait_container_http(
            container, f"http://127.0.0.1:{self.manifest.policy.opa_port}/health", timeout=60
        )
        state.opa = ProcessRecord(pid=self._running(container)[1], config=container)

    # -- teardown --------------------------------------------------------------------------

    def teardown(self, state: DeploymentState) -> list[str]:
        listed = _process.run(
            ["docker", "stack", "services", "--format", "{{.Name}}", self.stack],
            timeout=30,
            check=False,
        )
        stopped = [name for name in listed.stdout.split() if name]
        if stopped:
            # Services, their tasks, the stack's networks and its secret; the history and
            # the state folder stay (teardown --clean removes the state folder).
            _process.run(["docker", "stack", "rm", self.stack], timeout=STACK_TIMEOUT_S)
        self._wait_gone()
        for record in state.instances.values():  # anything the stack no longer lists
            _process.run(["docker", "rm", "-f", record.container], timeout=60, check=False)
        state.instances.clear()
        state.stable = state.canary = None
        state.canary_weight = 0
        state.nginx = state.opa = None
        (self.project.root / PROXY_CONF_DIR / CANDIDATE).unlink(missing_ok=True)
        return stopped

    def _wait_gone(self) -> None:
        """`docker stack rm` returns at once; wait until its containers and network are gone
        (so a new deploy, or the next stack on the same network name, starts clean)."""
        label = f"label=com.docker.stack.namespace={self.stack}"
        deadline = time.monotonic() + DRAIN_TIMEOUT_S + 60
        while time.monotonic() < deadline:
            containers = _process.run(
                ["docker", "ps", "-a", "-q", "--filter", label], timeout=30, check=False
            ).stdout.split()
            networks = _process.run(
                ["docker", "network", "ls", "-q", "--filter", label], timeout=30, check=False
            ).stdout.split()
            if not containers and not networks:
                return
            time.sleep(0.5)
        raise SwiftDeployError(f"stack {self.stack} was not removed within the timeout")
