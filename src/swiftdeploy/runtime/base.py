"""The small interface every runtime implements.

An instance is one running copy of the service on one track (stable or canary).
The lifecycle starts instances, waits for health, then asks the runtime to route:
all traffic to stable, or a weighted share to the canary. Requests carrying the
`X-Canary: always|never` header are pinned to a track whatever the weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import httpx

from swiftdeploy.artifact import Artifact
from swiftdeploy.state import DeploymentState, InstanceRecord, ProcessRecord, Track

if TYPE_CHECKING:
    from swiftdeploy.checks import CheckResult
    from swiftdeploy.manifest import Manifest
    from swiftdeploy.project import Project


@dataclass(frozen=True)
class InstanceSpec:
    track: Track
    mode: str
    version: str
    chaos_token: str | None
    # What to run, pinned (resolved by `Runtime.artifact` before anything changes). None
    # only for callers that predate artifacts: the runtime then runs the manifest's.
    artifact: Artifact | None = None


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: str
    mode: str | None = None
    version: str | None = None
    exited: bool = False
    """The instance is gone (its process or container ended): waiting longer will not help."""


class Runtime(Protocol):
    name: ClassVar[str]
    # Whether SwiftDeploy itself restarts instances and counts it (`status` shows the
    # counts); False where the platform restarts containers and keeps its own count.
    records_restarts: ClassVar[bool]
    # The manifest field (section, key) naming the artifact this runtime starts: the one
    # `promote canary --image` / `--command` may set for it.
    artifact_field: ClassVar[tuple[str, str]]

    def __init__(self, project: Project, manifest: Manifest) -> None: ...

    # -- what the runtime needs before anything runs (no Docker, no processes) --------------

    @classmethod
    def generated_files(cls, project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
        """Every file `init` writes for this runtime and the exact text it should have."""
        ...

    @classmethod
    def preflight(cls, manifest: Manifest) -> tuple[CheckResult, CheckResult]:
        """`validate`'s two runtime checks: the service can start; nginx.conf is valid."""
        ...

    def artifact(self, version: str) -> Artifact:
        """The manifest's artifact as this runtime would start it, resolved now (the image
        ID, the command's executable); ArtifactMissing when it does not exist."""
        ...

    # -- running -----------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        """Read the state and drop what no longer runs (after a crash or a reboot)."""
        ...

    def save(self, state: DeploymentState) -> None: ...

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        """Start an instance; it receives no traffic until `route` says so."""
        ...

    def health(self, instance: InstanceRecord) -> Health: ...

    def client(self, instance: InstanceRecord, *, timeout: float = 5.0) -> httpx.Client:
        """An HTTP client that talks to this one instance directly (metrics, chaos)."""
        ...

    def route(self, state: DeploymentState) -> None:
        """Make the proxy send traffic as state.stable / state.canary / canary_weight say."""
        ...

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        """Drain (in-flight requests finish) and stop one instance."""
        ...

    def start_policy_engine(self, state: DeploymentState) -> ProcessRecord:
        """Start an OPA server on 127.0.0.1:<policy.opa_port> (the lifecycle decides when)."""
        ...

    def request_log(self) -> Path:
        """The host file nginx logs every proxied request to, which the collector follows."""
        ...

    def supervise(self) -> str | None:
        """Start (or adopt) what restarts an instance that exited on its own, per
        `services.restart`; what was started, for `deploy`'s output (None: adopted, or the
        platform restarts them itself)."""
        ...

    def data_plane_down(self, state: DeploymentState) -> bool:
        """No proxy serves, whatever instances still run behind it."""
        ...

    def teardown(self, state: DeploymentState) -> list[str]:
        """Stop everything this deployment started; return what was stopped."""
        ...
