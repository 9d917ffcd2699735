"""Differential: the embedded engine and the real OPA give identical decisions.

Inputs are seeded-random at the precision the callers send (facts.canary_input and
infra_facts round to what the policies print), plus every boundary and malformed shape.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lifecycle_support import free_port
from swiftdeploy.policy.embedded import EmbeddedEngine
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
