"""Differential: the embedded engine and the real OPA give identical decisions.

Inputs are seeded-random at the precision the callers send (facts.canary_input and
infra_facts round to what the policies print), plus every boundary and malformed shape,
plus the documents production builds (facts.promotion_input and canary_start_input from
figures shaped as `observe` measures them).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lifecycle_support import free_port
from swiftdeploy.policy.embedded import EmbeddedEngine
from swiftdeploy.policy.facts import canary_start_input, promotion_input
from swiftdeploy.policy.opa import OpaServerEngine
from swiftdeploy.policy.server import start_server, stop_server
from swiftdeploy.policy.sources import defaults_dir

pytestmark = pytest.mark.integration


def _infra_inputs(rng: random.Random) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        {"disk_free_gb": 10, "cpu_load": 2.0},
        {"disk_free_gb": 10.0, "cpu_load": 2},
        {"disk_free_gb": 9.9, "cpu_load": 2.01},
        {"disk_free_gb": 0, "cpu_load": 0},
        {},
        {"disk_free_gb": "10"},
        {"disk_free_gb": None, "cpu_load": True},
        {"disk_free_gb": -1.0, "cpu_load": -0.5},
    ]
    for _ in range(110):
        cases.append(
            {
                "action": "deploy",
                "disk_free_gb": round(rng.uniform(0, 40), 1),
                "cpu_load": round(rng.uniform(0, 4), 2),
                "cpu_count": rng.randint(1, 64),
            }
        )
    return cases


def _canary_inputs(rng: random.Random) -> list[dict[str, Any]]:
    base = {"to": "stable", "error_rate": 0.01, "p99_ms": 500, "request_count": 50, "window_s": 10}
    cases: list[dict[str, Any]] = [
        base,
        {**base, "error_rate": 0.0101},
        {**base, "p99_ms": 500.1},
        {**base, "request_count": 49},
        {**base, "request_count": 50.5},
        {**base, "to": "canary"},
        {**base, "to": "rollback"},
        {**base, "to": 3},
        {"to": "stable"},
        {},
        {**base, "stable": {"error_rate": 0.002}},
        {**base, "error_rate": 0.005, "stable": {"error_rate": 0.0025}},
        {**base, "error_rate": 0.0051, "stable": {"error_rate": 0.0025}},
        {**base, "stable": {}},
        {**base, "window_s": "ten"},
    ]
    for _ in range(110):
        case: dict[str, Any] = {
            "action": "promote",
            "from": "canary",
            "to": rng.choice(["stable", "stable", "stable", "canary"]),
            "error_rate": round(rng.choice([rng.uniform(0, 0.02), rng.uniform(0, 0.5)]), 4),
            "p99_ms": round(rng.uniform(1, 900), 1),
            "request_count": rng.randint(0, 200),
            "window_s": rng.choice([10, 30, 60]),
        }
        if rng.random() < 0.4:
            case["stable"] = {
                "error_rate": round(rng.uniform(0, 0.01), 4),
                "p99_ms": round(rng.uniform(1, 500), 1),
                "request_count": rng.randint(0, 2000),
            }
        cases.append(case)
    return cases


def _track(rng: random.Random) -> dict[str, Any]:
    """One track's window as observe.figures rounds it (6 and 3 digits)."""
    return {
        "error_rate": round(rng.choice([rng.uniform(0, 0.02), rng.uniform(0, 0.5)]), 6),
        "p99_ms": rng.choice([None, round(rng.uniform(1, 900), 3)]),
        "request_count": rng.randint(0, 2000),
        "window_s": round(rng.uniform(5, 60), 3),
        "req_per_s": round(rng.uniform(0, 50), 3),
        "counter_reset": rng.random() < 0.1,
    }


def _production_inputs(rng: random.Random) -> list[dict[str, Any]]:
    """What promote, a rollout's analysis, a dry run and status send the canary policy."""
    cases = [canary_start_input("stable", "v2"), canary_start_input("canary", "v3")]
    for _ in range(60):
        figures = {"canary": _track(rng)}
        if rng.random() < 0.5:
            figures["stable"] = _track(rng)
        analysis = rng.choice(
            [None, {"phase": "analysis", "step": rng.randint(0, 3), "weight": rng.randint(1, 99)}]
        )
        cases.append(promotion_input(rng.choice([None, "v2"]), figures, analysis=analysis))
    return cases


@pytest.fixture(scope="module")
def engines(
    opa_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EmbeddedEngine, OpaServerEngine]]:
    state: Path = tmp_path_factory.mktemp("opa-diff")
    server = start_server(defaults_dir(), state, port=free_port(), opa_bin=opa_bin)
    rest = OpaServerEngine(server.url, defaults_dir(), token=server.token)
    try:
        yield EmbeddedEngine(defaults_dir()), rest
    finally:
        rest.close()
        stop_server(state)


RNG = random.Random(20240605)
CASES = [("infra", c) for c in _infra_inputs(RNG)] + [("canary", c) for c in _canary_inputs(RNG)]
CASES += [("canary", c) for c in _production_inputs(random.Random(20261202))]


def test_enough_cases() -> None:
    assert len(CASES) >= 200


def test_engines_agree(engines: tuple[EmbeddedEngine, OpaServerEngine]) -> None:
    embedded, rest = engines
    mismatches = []
    allowed = 0
    for domain, case in CASES:
        mine = embedded.evaluate(domain, case)
        theirs = rest.evaluate(domain, case)
        allowed += mine.allow
        if (mine.allow, mine.deny, mine.checks) != (theirs.allow, theirs.deny, theirs.checks):
            mismatches.append((domain, case, mine.to_json(), theirs.to_json()))
    assert mismatches == []
    # The table must exercise both outcomes, or agreement proves little.
    assert 20 < allowed < len(CASES) - 20


def _per_core_inputs(rng: random.Random) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        {"disk_free_gb": 50, "cpu_load": 2.1, "cpu_count": 3},  # 0.7 x 3: a tie in doubles
        {"disk_free_gb": 50, "cpu_load": 2.11, "cpu_count": 3},
        {"disk_free_gb": 50, "cpu_load": 1.0},
        {"disk_free_gb": 50, "cpu_load": 1.0, "cpu_count": 0},
        {"disk_free_gb": 50, "cpu_load": 1.0, "cpu_count": 2.5},
        {"disk_free_gb": 50, "cpu_load": 1.0, "cpu_count": "2"},
    ]
    for _ in range(60):
        cases.append(
            {
                "action": "deploy",
                "disk_free_gb": round(rng.uniform(5, 40), 1),
                "cpu_load": round(rng.uniform(0, 8), 2),
                "cpu_count": rng.randint(1, 16),
            }
        )
    return cases


def test_engines_agree_with_a_per_core_threshold(opa_bin: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(defaults_dir(), policies)
    data = policies / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load_per_core": 0.7}))
    server = start_server(policies, tmp_path / "opa", port=free_port(), opa_bin=opa_bin)
    rest = OpaServerEngine(server.url, policies, token=server.token)
    embedded = EmbeddedEngine(policies)
    try:
        answers = []
        for case in _per_core_inputs(random.Random(7)):
            mine, theirs = embedded.evaluate("infra", case), rest.evaluate("infra", case)
            assert (mine.allow, mine.deny, mine.checks) == (
                theirs.allow,
                theirs.deny,
                theirs.checks,
            )
            answers.append(mine)
    finally:
        rest.close()
        stop_server(tmp_path / "opa")
    assert answers[0].allow, answers[0].deny  # 2.10 is within 0.70 x 3 on both engines
    assert answers[1].deny == ["CPU load 2.11 exceeds maximum 2.10 (0.70 per core on 3 cores)"]
    assert all(a.deny for a in answers[2:6])  # no usable cpu_count: fail closed
    assert 5 < sum(a.allow for a in answers) < len(answers) - 5
