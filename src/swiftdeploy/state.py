"""The deployment's runtime state in `.swiftdeploy/state.json`, written atomically (0600).

The state says which instances this deployment started and how traffic is split,
so that `status`, `promote` and `teardown` run from a new CLI process find them again.
`pending` names an operation that started but did not finish (the CLI was killed);
the next command reconciles it.

Each save keeps the previous good state beside it (`state.json.prev`): a state file
that cannot be read (edited, truncated, a full disk) is reported in one line, never
guessed at, and `teardown` still finds what this project started without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from swiftdeploy.artifact import Artifact
from swiftdeploy.errors import StateError
from swiftdeploy.files import atomic_write

MAX_STATE_BYTES = 4 * 1024 * 1024

Track = Literal["stable", "canary"]
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


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
    # What the instance was started with (Artifact.as_dict): the image ID or the resolved
    # command. None in state files written before artifacts were recorded.
    artifact: dict[str, str] | None = None

    def pinned(self) -> Artifact | None:
        """The recorded artifact, or None when this record predates them."""
        if self.artifact is None:
            return None
        return Artifact.from_dict(self.artifact, where=f"state: instance {self.id}")


class ProcessRecord(BaseModel):
    """A process the deployment runs beside its instances (nginx, an OPA server)."""

    model_config = ConfigDict(extra="forbid")

    pid: int
    config: str = ""  # the file or folder the process was started on (a host process)
    container: str = ""  # the Docker container id (a container runtime)

    @model_validator(mode="before")
    @classmethod
    def _container_id_in_config(cls, data: Any) -> Any:
        """State files written before `container` existed kept the container id in `config`."""
        if isinstance(data, dict) and not data.get("container"):
            config = data.get("config")
            if isinstance(config, str) and _CONTAINER_ID.fullmatch(config):
                data = {**data, "container": config, "config": ""}
        return data


class DeploymentState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runtime: str = ""  # the runtime that last saved it (runtimes set it; nothing branches on it)
    instances: dict[str, InstanceRecord] = Field(default_factory=dict)
    stable: str | None = None
    canary: str | None = None
    canary_weight: int = 0
    # When canary_weight last took effect (iso_utc): a window judged before it measures the
    # canary at another share, or before it had any traffic (a slow-starting container).
    canary_weight_since: str | None = None
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


def previous_path(path: Path) -> Path:
    """Where the last good state is kept: `state.json.prev` beside the state."""
    return path.with_name(path.name + ".prev")


def _parse(path: Path) -> DeploymentState:
    """The state at path; ValueError (with a short reason) when it is not a valid state."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_STATE_BYTES + 1)
    except IsADirectoryError:
        raise ValueError("a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"larger than {MAX_STATE_BYTES} bytes")
    if not data.strip():
        raise ValueError("empty")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not isinstance(raw, dict):
        raise ValueError(f"a JSON {type(raw).__name__}, not an object")
    try:
        return DeploymentState.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "state"
        raise ValueError(f"{where}: {first['msg']}") from None


def load_state(path: Path) -> DeploymentState:
    """The saved state (empty when there is none); StateError when it cannot be read."""
    if not path.exists() and not path.is_symlink():
        return DeploymentState()
    try:
        return _parse(path)
    except ValueError as exc:
        prev = previous_path(path)
        kept = f"the last good state is in {prev.name}" if prev.exists() else "no earlier state"
        raise StateError(
            f"{path.parent.name}/{path.name} is not a valid state ({exc}); {kept}",
            hint="`swiftdeploy teardown` stops what this deployment started without it",
        ) from None


def salvage_state(path: Path) -> tuple[DeploymentState, str]:
    """For teardown: move an unreadable state aside and start from the last good one.

    Returns the state to work from and what was done, for the operator. The unreadable
    file is kept as `state.json.corrupt-<time>` for inspection, never deleted.
    """
    try:
        return _parse(path), ""
    except ValueError as exc:
        reason = str(exc)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    with contextlib.suppress(OSError):
        os.replace(path, aside)
    try:
        state = _parse(previous_path(path))
        source = f"using {previous_path(path).name}"
    except ValueError:
        state = DeploymentState()
        source = "no readable earlier state"
    return state, f"{path.name} was not a valid state ({reason}); kept as {aside.name}, {source}"


def save_state(path: Path, state: DeploymentState) -> None:
    """Write the state atomically, keeping the current one (if valid) as `.prev`."""
    with contextlib.suppress(ValueError):
        current = _parse(path) if path.exists() else None
        if current is not None:
            atomic_write(previous_path(path), current.model_dump_json(indent=2) + "\n", mode=0o600)
    atomic_write(path, state.model_dump_json(indent=2) + "\n", mode=0o600)
