"""Replaying a recorded decision: would today's policy answer the same?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swiftdeploy.errors import HistoryError
from swiftdeploy.policy.decision import Check, Decision
from swiftdeploy.policy.engines import PolicyEngine


@dataclass(frozen=True)
class ReplayResult:
    same_decision: bool
    digest_changed: bool
    old: Decision
    new: Decision


def recorded_decision(event: dict[str, Any]) -> Decision:
    """The Decision stored in a `policy_decision` event (or in its bare payload)."""
    payload = event.get("payload", event)
    try:
        checks = {
            name: Check(passed=bool(raw["pass"]), detail=str(raw["detail"]))
            for name, raw in dict(payload.get("checks", {})).items()
        }
        return Decision(
            domain=str(payload["domain"]),
            allow=bool(payload["allow"]),
            deny=[str(r) for r in payload.get("reasons", [])],
            checks=checks,
            engine=str(payload.get("engine", "")),
            policy_digest=str(payload.get("policy_digest", "")),
            decision_id=str(payload.get("decision_id", "")),
            duration_ms=float(payload.get("duration_ms", 0.0)),
            input=dict(payload["input"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HistoryError(f"not a policy_decision event: {exc}") from exc


def replay(decision_event: dict[str, Any], engine: PolicyEngine) -> ReplayResult:
    """Evaluate the recorded input again; PolicyUnavailable propagates (exit 3)."""
    old = recorded_decision(decision_event)
    new = engine.evaluate(old.domain, old.input)
    same = old.allow == new.allow and sorted(old.deny) == sorted(new.deny)
    return ReplayResult(
        same_decision=same,
        digest_changed=old.policy_digest != new.policy_digest,
        old=old,
        new=new,
    )
