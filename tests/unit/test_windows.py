"""Since when a gate may judge the canary: its start, or the last change of its share."""

from __future__ import annotations

from swiftdeploy.clock import epoch
from swiftdeploy.state import DeploymentState, InstanceRecord
from swiftdeploy.windows import canary_since

STARTED = "2026-12-03T07:43:15.000000Z"
ROUTED = "2026-12-03T07:43:18.300000Z"


def _state(*, since: str | None, canary: bool = True) -> DeploymentState:
    record = InstanceRecord(
        id="canary-1", track="canary", mode="canary", version="2.0.0", pid=1,
        address="app-canary:3000", started_at=STARTED,
    )  # fmt: skip
    return DeploymentState(
        instances={record.id: record},
        canary=record.id if canary else None,
        canary_weight=100,
        canary_weight_since=since,
    )


def test_a_canary_routed_seconds_after_its_start_is_judged_from_its_routing() -> None:
    # A swarm task took 3 s from its start to its first routed request: a 3 s window judged
    # from its start would hold no canary traffic at all.
    assert canary_since(_state(since=ROUTED)) == epoch(ROUTED)


def test_a_weight_change_older_than_the_canary_is_not_its_share() -> None:
    # The previous canary's last shift: this canary serves since its own start.
    assert canary_since(_state(since="2026-12-03T07:00:00Z")) == epoch(STARTED)


def test_a_state_from_before_weight_changes_were_recorded_uses_the_start() -> None:
    assert canary_since(_state(since=None)) == epoch(STARTED)
    assert canary_since(_state(since="garbage")) == epoch(STARTED)


def test_no_canary_no_instant() -> None:
    assert canary_since(_state(since=ROUTED, canary=False)) is None
