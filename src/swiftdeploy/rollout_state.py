"""A progressive rollout's own state: `rollout.json`, the request queue and `rollout.lock`.

Only the rollout loop (rollout.Runner) writes rollout.json; other commands queue requests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from swiftdeploy.errors import LockBusy
from swiftdeploy.files import atomic_write
from swiftdeploy.lifecycle import Deployment

Phase = Literal["progressing", "paused", "inconclusive", "promoted", "rolled_back", "aborted"]
FINISHED = frozenset({"promoted", "rolled_back", "aborted"})


class Analysis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int
    weight: int
    verdict: str
    reasons: list[str] = Field(default_factory=list)
    decision_id: str = ""
    ts: str = ""


class Rollout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    steps: list[int]
    step: int = 0
    phase: Phase = "progressing"
    failed_checks: int = 0
    weight_override: int | None = None
    step_started: float = 0.0  # wall clock, so the deadline survives a CLI restart
    analyses: list[Analysis] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    @property
    def weight(self) -> int:
        return self.weight_override if self.weight_override is not None else self.steps[self.step]

    def describe(self) -> str:
        last = self.analyses[-1].verdict if self.analyses else "none yet"
        return (
            f"step {self.step + 1}/{len(self.steps)} at {self.weight}% ({self.phase}); "
            f"failed checks {self.failed_checks}; last analysis: {last}"
        )


class _ControlRequested(Exception):
    """An operator's request arrived mid-window; the loop handles it before going on."""


# -- persistence --------------------------------------------------------------------------------


def load_rollout(deployment: Deployment) -> Rollout | None:
    path = deployment.project.state_dir / "rollout.json"
    if not path.exists():
        return None
    return Rollout.model_validate_json(path.read_text())


def save_rollout(deployment: Deployment, rollout: Rollout) -> None:
    deployment.project.ensure_state_dir()
    path = deployment.project.state_dir / "rollout.json"
    atomic_write(path, rollout.model_dump_json(indent=2) + "\n", mode=0o600)


def _requests_path(deployment: Deployment) -> Path:
    return deployment.project.state_dir / "rollout-requests.json"


def _queue_request(deployment: Deployment, request: dict[str, Any]) -> None:
    """Append a request; the caller holds the project lock."""
    path = _requests_path(deployment)
    queued = json.loads(path.read_text()) if path.exists() else []
    atomic_write(path, json.dumps([*queued, request]) + "\n", mode=0o600)


def _take_requests(deployment: Deployment) -> list[dict[str, Any]]:
    path = _requests_path(deployment)
    if not path.exists():
        return []
    with deployment.project.lock("rollout controls"):
        queued: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
        path.unlink(missing_ok=True)
    return queued


@contextlib.contextmanager
def _rollout_lock(deployment: Deployment) -> Iterator[None]:
    """Held by the process walking the steps, for the whole rollout."""
    deployment.project.ensure_state_dir()
    fd = os.open(deployment.project.state_dir / "rollout.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(
                "a rollout is already running for this deployment",
                hint="steer it with 'swiftdeploy promote --pause|--resume|--abort|--set-weight N'",
            ) from None
        yield
    finally:
        os.close(fd)


def _rollout_running(deployment: Deployment) -> bool:
    try:
        with _rollout_lock(deployment):
            return False
    except LockBusy:
        return True
