"""The deployment's runtime state in `.swiftdeploy/state.json`, written atomically (0600).

The state says which instances this deployment started and how traffic is split,
so that `status`, `promote` and `teardown` run from a new CLI process find them again.
`pending` names an operation that started but did not finish (the CLI was killed);
the next command reconciles it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from swiftdeploy.files import atomic_write

Track = Literal["stable", "canary"]


class InstanceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    track: Track
    mode: Literal["stable", "canary"]
    version: str
    pid: int
    address: str  # "unix:/path.sock" for the local runtime, "host:port" elsewhere
    log: str = ""
    started_at: str = ""
    container: str = ""  # the Docker container id (compose runtime)


class ProcessRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pid: int
    config: str = ""


class DeploymentState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runtime: str = "local"
    instances: dict[str, InstanceRecord] = Field(default_factory=dict)
    stable: str | None = None
    canary: str | None = None
    canary_weight: int = 0
    nginx: ProcessRecord | None = None
    opa: ProcessRecord | None = None
    pending: str | None = None

    def stable_instance(self) -> InstanceRecord | None:
        return self.instances.get(self.stable) if self.stable else None

    def canary_instance(self) -> InstanceRecord | None:
        return self.instances.get(self.canary) if self.canary else None

    @property
    def mode(self) -> str:
        """The deployment's mode: canary while a canary runs, stable otherwise."""
        return "canary" if self.canary else "stable"


def load_state(path: Path) -> DeploymentState:
    if not path.exists():
        return DeploymentState()
    return DeploymentState.model_validate(json.loads(path.read_text()))


def save_state(path: Path, state: DeploymentState) -> None:
    atomic_write(path, state.model_dump_json(indent=2) + "\n", mode=0o600)
