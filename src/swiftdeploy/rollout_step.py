"""A rollout step: the canary running beside stable at one share of traffic.

The one implementation of "start a canary, health-check it, shift traffic", for every way a
canary is released. A progressive rollout (rollout.Runner) enters one step per entry of
canary.steps and analyses each; the one-shot `promote canary` (rollout.single_step) is the
single-step case, a rollout of [canary.weight] whose analysis and finish are left to the
operator's own `promote stable` or `rollback`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from swiftdeploy.clock import iso_utc
from swiftdeploy.lifecycle import Deployment, require_running, stop_all_but
from swiftdeploy.manifest import CanarySpec
from swiftdeploy.rollout_state import Rollout
from swiftdeploy.runtime.base import InstanceSpec
from swiftdeploy.state import DeploymentState, InstanceRecord

if TYPE_CHECKING:
    from swiftdeploy.artifact import Artifact


def planned_steps(spec: CanarySpec) -> list[int]:
    """The weights a canary walks: canary.steps, or the single step canary.weight."""
    return spec.steps or [spec.weight]


@dataclass(frozen=True)
class Entered:
    """What entering a rollout's first step found and did."""

    state: DeploymentState
    mode_before: str
    changed: bool


def enter_first_step(deployment: Deployment, rollout: Rollout) -> Entered:
    """Gate, then run the rollout's canary beside stable at its weight (the caller holds the lock).

    The canary runs the manifest's artifact (resolved first: a missing image or command is
    refused before anything changes); stable keeps the one it was started with. Keeps a
    canary already running that artifact at the rollout's version (only its weight may change).
    """
    from swiftdeploy.policy.facts import canary_start_input

    artifact = deployment.desired(rollout.version)
    state = deployment.reconcile()
    stable = require_running(state)
    current = state.mode
    deployment.ask_policy("canary", canary_start_input(current, rollout.version))
    canary = state.canary_instance()
    keep = canary is not None and _runs(canary, artifact)
    changed = state.canary_weight != rollout.weight if keep else True
    with deployment.step(state, None if keep else "promote canary"):
        if not keep:
            start_canary(deployment, state, rollout.version, artifact)
        _shift(deployment, state, rollout.weight)
        stop_all_but(deployment, state, {stable.id, state.canary or ""})
    deployment.set_mode("canary")
    return Entered(state, current, changed)


def enter_step(deployment: Deployment, rollout: Rollout) -> DeploymentState:
    """Move the running canary to the rollout's current weight (the caller holds the lock).

    For every step after the first, and for the operator's --set-weight.
    """
    state = deployment.reconcile()
    # Marked pending, so a CLI killed between routing and saving is routed back on reconcile.
    with deployment.step(state, "rollout set weight"):
        _shift(deployment, state, rollout.weight)
    return state


def _runs(canary: InstanceRecord, artifact: Artifact) -> bool:
    """The running canary already runs this artifact (an old record: the same version)."""
    pinned = canary.pinned()
    if pinned is None:
        return canary.version == artifact.version
    return pinned.same_bits(artifact)


def _shift(deployment: Deployment, state: DeploymentState, weight: int) -> None:
    state.canary_weight = weight
    deployment.runtime.route(state)
    state.canary_weight_since = iso_utc(timespec="microseconds")


def start_canary(
    deployment: Deployment,
    state: DeploymentState,
    version: str,
    artifact: Artifact | None = None,
) -> InstanceRecord:
    spec = InstanceSpec("canary", "canary", version, deployment.chaos_token(), artifact)
    record = deployment.start_and_wait(state, spec)
    state.canary = record.id
    state.canary_weight = deployment.manifest.canary.weight
    return record
