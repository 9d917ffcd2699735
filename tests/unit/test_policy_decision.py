"""decision_from_json on answers captured from the real OPA, and on broken answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.policy.decision import check_domain, decision_from_json

PAYLOADS = Path(__file__).parent / "policy_payloads"


def captured(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def test_allow_payload() -> None:
    case = captured("infra_allow")
    decision = decision_from_json("infra", case["response"])
    assert decision.allow
    assert decision.deny == []
    assert set(decision.checks) == {"disk_free", "cpu_load"}
    assert decision.checks["disk_free"].detail == "Disk free 107.0GB meets minimum 10GB"


def test_deny_payload_keeps_every_reason() -> None:
    decision = decision_from_json("canary", captured("canary_deny")["response"])
    assert not decision.allow
    assert decision.deny == [
        "Error rate 5.20% exceeds maximum 1.00%",
        "P99 latency 620.0ms exceeds maximum 500ms",
        "inconclusive: 7 requests in the last 10 s, need ≥ 50",
    ]
    assert not decision.checks["p99"].passed
    assert decision.checks["target"].passed


def test_missing_input_payload_denies() -> None:
    decision = decision_from_json("infra", captured("infra_missing")["response"])
    assert not decision.allow
    assert len(decision.deny) == 2


def test_promotion_to_canary_payload() -> None:
    decision = decision_from_json("canary", captured("canary_to_canary")["response"])
    assert decision.allow
    assert list(decision.checks) == ["target"]


def test_undefined_document_is_unavailable() -> None:
    # The real OPA's answer for an undefined document: 200 with {}.
    assert captured("undefined_domain")["response"] == {}
    with pytest.raises(PolicyUnavailable, match="no result"):
        decision_from_json("nothing_here", {})


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ([], "not a JSON object"),
        ({"result": []}, "result is not an object"),
        ({"result": {}}, "no boolean allow"),
        ({"result": {"allow": 1}}, "no boolean allow"),
        ({"result": {"allow": False, "deny": "x"}}, "not a list of strings"),
        ({"result": {"allow": False, "deny": [1]}}, "not a list of strings"),
        ({"result": {"allow": True, "checks": []}}, "checks is not an object"),
        ({"result": {"allow": True, "checks": {"a": {"pass": "yes"}}}}, "check 'a'"),
        ({"result": {"allow": True, "deny": ["no"]}}, "allow together with deny"),
    ],
)
def test_malformed_answers_are_unavailable(payload: Any, why: str) -> None:
    with pytest.raises(PolicyUnavailable, match=why) as info:
        decision_from_json("infra", payload)
    assert info.value.message.startswith("policy engine unavailable: ")


@pytest.mark.parametrize("domain", ["../x", "infra/allow", "Infra", "a b", ""])
def test_domain_names_are_checked(domain: str) -> None:
    with pytest.raises(PolicyUnavailable):
        check_domain(domain)


def test_to_json_round_trip_fields() -> None:
    decision = decision_from_json("canary", captured("canary_deny")["response"])
    out = decision.to_json()
    assert out["reasons"] == decision.deny
    assert out["checks"]["p99"] == {"pass": False, "detail": decision.checks["p99"].detail}
