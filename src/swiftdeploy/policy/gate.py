"""The fail-closed gate: every decision is recorded; no answer means no.

A deny is raised as GateDenied, carrying the decision and no words: the CLI's
policy_output says how it reads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from swiftdeploy.errors import PolicyDenied, PolicyUnavailable
from swiftdeploy.policy.decision import Decision
from swiftdeploy.policy.engines import PolicyEngine

Recorder = Callable[[str, dict[str, Any]], object]


class GateDenied(PolicyDenied):
    """PolicyDenied carrying the full decision, so the CLI can print every check."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(domain=decision.domain, reasons=list(decision.deny), input=decision.input)
        self.decision = decision


def decision_event(decision: Decision) -> dict[str, Any]:
    """The history payload of a `policy_decision` event."""
    return {
        "domain": decision.domain,
        "input": decision.input,
        "allow": decision.allow,
        "reasons": list(decision.deny),
        "checks": {name: check.to_json() for name, check in decision.checks.items()},
        "engine": decision.engine,
        "policy_digest": decision.policy_digest,
        "decision_id": decision.decision_id,
        "duration_ms": decision.duration_ms,
        "verdict": decision.verdict,
    }


def gate(
    engine: PolicyEngine,
    domain: str,
    input: dict[str, Any],
    *,
    on_unavailable: str,
    record: Recorder,
) -> Decision:
    """`decide`, raising GateDenied (a PolicyDenied, exit 1) when the decision denies."""
    decision = decide(engine, domain, input, on_unavailable=on_unavailable, record=record)
    if not decision.allow:
        raise GateDenied(decision)
    return decision


def decide(
    engine: PolicyEngine,
    domain: str,
    input: dict[str, Any],
    *,
    on_unavailable: str,
    record: Recorder,
) -> Decision:
    """Evaluate, record, and return the Decision, allowed or not (with reasons and input).

    Raises PolicyUnavailable (exit 3) when the engine cannot answer, unless
    on_unavailable == "allow": then the override is recorded and a Decision with
    overridden=True is returned. `gate` is the one place a deny is raised.
    """
    started = time.perf_counter()
    try:
        decision = engine.evaluate(domain, input)
    except PolicyUnavailable as exc:
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        decision_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "domain": domain,
            "input": input,
            "engine": engine.name,
            "reason": exc.message,
            "decision_id": decision_id,
            "duration_ms": duration_ms,
        }
        if on_unavailable != "allow":
            record("policy_unavailable", event)
            raise
        record("policy_override", {**event, "on_unavailable": "allow"})
        return Decision(
            domain=domain,
            allow=True,
            deny=[],
            checks={},
            engine=engine.name,
            policy_digest="",
            decision_id=decision_id,
            duration_ms=duration_ms,
            input=input,
            overridden=True,
        )
    record("policy_decision", decision_event(decision))
    return decision
