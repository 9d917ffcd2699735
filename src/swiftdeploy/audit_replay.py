"""`audit --replay` and `audit --since/--until`: the core behind those audit options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swiftdeploy.errors import HistoryError, UsageError
from swiftdeploy.history import History, format_ts, parse_ts
from swiftdeploy.project import Project


@dataclass(frozen=True)
class Replayed:
    """A recorded decision and today's answer to the same input."""

    decision_id: str
    domain: str
    ts: str
    recorded_allow: bool
    recorded_reasons: list[str]
    replayed_allow: bool
    replayed_reasons: list[str]
    same_decision: bool
    digest_changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "domain": self.domain,
            "recorded": {
                "allow": self.recorded_allow,
                "reasons": self.recorded_reasons,
                "ts": self.ts,
            },
            "replayed": {"allow": self.replayed_allow, "reasons": self.replayed_reasons},
            "same_decision": self.same_decision,
            "policy_digest_changed": self.digest_changed,
        }


def replay_decision(project: Project, history: History, decision_id: str) -> Replayed:
    """Re-evaluate a recorded policy decision with the manifest's engine and today's policies."""
    from swiftdeploy.manifest import load_manifest
    from swiftdeploy.policy import engine_for
    from swiftdeploy.policy.replay import replay

    event = find_decision(history, decision_id)
    manifest = load_manifest(project.manifest_path)
    result = replay(event, engine_for(manifest.policy, project.policies_dir))
    return Replayed(
        decision_id=decision_id,
        domain=result.old.domain,
        ts=event["ts"],
        recorded_allow=result.old.allow,
        recorded_reasons=list(result.old.deny),
        replayed_allow=result.new.allow,
        replayed_reasons=list(result.new.deny),
        same_decision=result.same_decision,
        digest_changed=result.digest_changed,
    )


def find_decision(history: History, decision_id: str) -> dict[str, Any]:
    for event in history.events():
        if event.get("type") == "policy_decision" and event.get("decision_id") == decision_id:
            return event
    raise UsageError(
        f"no policy_decision with id {decision_id} in {Path(history.path).name}",
        hint="decision ids are listed in audit_report.md and `--format json` output",
    )


def time_bound(name: str, value: str | None) -> str | None:
    """An RFC 3339 --since/--until value in the history's own format."""
    if value is None:
        return None
    try:
        return format_ts(parse_ts(value))
    except HistoryError as exc:
        raise UsageError(f"--{name}: {exc.message}") from None
