"""What a policy engine answered, and the pure parsing of an answer into a Decision.

Both engines produce the same JSON document (`{"result": {"allow", "deny", "checks"}}`,
the shape of OPA's REST Data API), so one parser validates both; anything that is not a
complete, well-typed answer raises PolicyUnavailable: the gate fails closed on it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from swiftdeploy.errors import PolicyUnavailable

DOMAIN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
VERDICTS = frozenset({"pass", "fail", "inconclusive"})


@dataclass(frozen=True)
class Check:
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"pass": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    domain: str
    allow: bool
    deny: list[str]
    checks: dict[str, Check]
    engine: str = ""
    policy_digest: str = ""
    decision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    duration_ms: float = 0.0
    input: dict[str, Any] = field(default_factory=dict)
    # True when the engine could not answer and policy.on_unavailable == "allow" let it through.
    overridden: bool = False
    # "pass" | "fail" | "inconclusive" (too little data to judge); policies that do not
    # say are read as pass when allowed and fail otherwise.
    verdict: str = ""

    def __post_init__(self) -> None:
        if not self.verdict:
            object.__setattr__(self, "verdict", "pass" if self.allow else "fail")

    @property
    def reasons(self) -> list[str]:
        return self.deny

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "allow": self.allow,
            "reasons": list(self.deny),
            "checks": {name: check.to_json() for name, check in self.checks.items()},
            "engine": self.engine,
            "policy_digest": self.policy_digest,
            "decision_id": self.decision_id,
            "duration_ms": self.duration_ms,
            "input": self.input,
            "overridden": self.overridden,
            "verdict": self.verdict,
        }


def check_domain(domain: str) -> str:
    """Refuse names that could smuggle a path or a query into the engine call."""
    if not DOMAIN_RE.match(domain):
        raise PolicyUnavailable(f"policy engine unavailable: invalid policy domain {domain!r}")
    return domain


def decision_from_json(domain: str, payload: Any) -> Decision:
    """Validate an OPA-style `{"result": {...}}` document and turn it into a Decision."""

    def bad(why: str) -> PolicyUnavailable:
        return PolicyUnavailable(f"policy engine unavailable: {why} (domain {domain!r})")

    if not isinstance(payload, dict):
        raise bad("answer is not a JSON object")
    if "result" not in payload:
        # OPA answers 200 with `{}` when data.<domain> is undefined: no policy loaded.
        raise bad("answer has no result; is the policy loaded?")
    result = payload["result"]
    if not isinstance(result, dict):
        raise bad("result is not an object")
    allow = result.get("allow")
    if not isinstance(allow, bool):
        raise bad("result has no boolean allow")
    deny_raw = result.get("deny", [])
    if not isinstance(deny_raw, list) or not all(isinstance(r, str) for r in deny_raw):
        raise bad("result.deny is not a list of strings")
    checks_raw = result.get("checks", {})
    if not isinstance(checks_raw, dict):
        raise bad("result.checks is not an object")
    checks: dict[str, Check] = {}
    for name, raw in sorted(checks_raw.items()):
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("pass"), bool)
            or not isinstance(raw.get("detail"), str)
        ):
            raise bad(f"check {name!r} lacks a boolean pass and a string detail")
        checks[name] = Check(passed=raw["pass"], detail=raw["detail"])
    deny = sorted(set(deny_raw))
    if allow and deny:
        raise bad("policy answered allow together with deny reasons")
    verdict = result.get("verdict", "pass" if allow else "fail")
    if verdict not in VERDICTS or (verdict == "pass") != allow:
        raise bad(f"result.verdict {verdict!r} does not agree with allow={allow}")
    return Decision(domain=domain, allow=allow, deny=deny, checks=checks, verdict=verdict)
