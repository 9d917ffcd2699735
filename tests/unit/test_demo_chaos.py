"""Chaos semantics without HTTP: validation, TTL expiry on an injected clock, sampling."""

from __future__ import annotations

import math
import random

import pytest

from swiftdeploy.demo.chaos import (
    Chaos,
    ChaosKind,
    ChaosRequestError,
    ChaosSpec,
    Effect,
    parse_spec,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"mode": "slow", "duration": 2}, ChaosSpec(ChaosKind.SLOW, duration=2.0)),
        ({"mode": "slow", "duration": 60}, ChaosSpec(ChaosKind.SLOW, duration=60.0)),
        ({"mode": "slow", "duration": 0.5, "ttl": 10}, ChaosSpec(ChaosKind.SLOW, 0.5, ttl=10.0)),
        ({"mode": "error", "rate": 0}, ChaosSpec(ChaosKind.ERROR, rate=0.0)),
        ({"mode": "error", "rate": 1}, ChaosSpec(ChaosKind.ERROR, rate=1.0)),
        ({"mode": "error", "rate": 0.25, "ttl": 5}, ChaosSpec(ChaosKind.ERROR, rate=0.25, ttl=5)),
        ({"mode": "recover"}, ChaosSpec(ChaosKind.NONE)),
    ],
)
def test_valid_bodies_parse(body: object, expected: ChaosSpec) -> None:
    assert parse_spec(body) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ("slow", "body"),
        ({}, "mode"),
        ({"mode": "explode"}, "mode"),
        ({"mode": 1}, "mode"),
        ({"mode": "slow"}, "duration"),
        ({"mode": "slow", "duration": 0}, "duration"),
        ({"mode": "slow", "duration": -1}, "duration"),
        ({"mode": "slow", "duration": 60.01}, "duration"),
        ({"mode": "slow", "duration": "5"}, "duration"),
        ({"mode": "slow", "duration": True}, "duration"),
        ({"mode": "slow", "duration": math.inf}, "duration"),
        ({"mode": "slow", "duration": math.nan}, "duration"),
        ({"mode": "error"}, "rate"),
        ({"mode": "error", "rate": 1.5}, "rate"),
        ({"mode": "error", "rate": -0.1}, "rate"),
        ({"mode": "error", "rate": None}, "rate"),
        ({"mode": "error", "rate": 0.5, "ttl": 0}, "ttl"),
        ({"mode": "error", "rate": 0.5, "ttl": "10"}, "ttl"),
        ({"mode": "error", "rate": 0.5, "duration": 1}, "duration"),
        ({"mode": "slow", "duration": 1, "rate": 0.5}, "rate"),
        ({"mode": "recover", "ttl": 3}, "ttl"),
    ],
)
def test_invalid_bodies_name_the_field(body: object, field: str) -> None:
    with pytest.raises(ChaosRequestError) as caught:
        parse_spec(body)
    assert caught.value.field == field
    assert caught.value.message


def test_no_chaos_has_no_effect() -> None:
    chaos = Chaos(clock=FakeClock())
    assert chaos.kind() is ChaosKind.NONE
    assert chaos.effect() == Effect()
    assert chaos.state() == {"mode": "none", "active": False}


def test_slow_delays_every_request() -> None:
    chaos = Chaos(clock=FakeClock())
    chaos.apply(ChaosSpec(ChaosKind.SLOW, duration=1.5))
    assert [chaos.effect() for _ in range(3)] == [Effect(delay=1.5)] * 3
    assert chaos.state() == {"mode": "slow", "active": True, "duration": 1.5}


def test_ttl_expires_on_the_injected_clock() -> None:
    clock = FakeClock()
    chaos = Chaos(clock=clock)
    chaos.apply(ChaosSpec(ChaosKind.ERROR, rate=1.0, ttl=10))
    clock.now += 9.5
    assert chaos.effect() == Effect(fail=True)
    assert chaos.state()["expires_in"] == pytest.approx(0.5)
    clock.now += 0.5
    assert chaos.effect() == Effect()
    assert chaos.kind() is ChaosKind.NONE
    assert chaos.state() == {"mode": "none", "active": False}


def test_recover_clears_chaos_and_its_ttl() -> None:
    clock = FakeClock()
    chaos = Chaos(clock=clock)
    chaos.apply(ChaosSpec(ChaosKind.SLOW, duration=1, ttl=100))
    chaos.apply(parse_spec({"mode": "recover"}))
    assert chaos.state() == {"mode": "none", "active": False}


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 500)])
def test_rate_bounds_are_exact(rate: float, expected: int) -> None:
    chaos = Chaos(clock=FakeClock(), rng=random.Random(7).random)
    chaos.apply(ChaosSpec(ChaosKind.ERROR, rate=rate))
    assert sum(chaos.effect().fail for _ in range(500)) == expected


N = 2000
P = 0.5
# Binomial std of the observed fraction is sqrt(p(1-p)/n) = 1.12 %; 4 std = 4.47 %, so a
# correct sampler leaves this band with probability ~6e-5 per seed.
TOLERANCE = 4 * math.sqrt(P * (1 - P) / N)


@pytest.mark.parametrize("seed", range(5))
def test_seeded_error_rate_lands_within_tolerance(seed: int) -> None:
    chaos = Chaos(clock=FakeClock(), rng=random.Random(seed).random)
    chaos.apply(ChaosSpec(ChaosKind.ERROR, rate=P))
    failed = sum(chaos.effect().fail for _ in range(N))
    assert abs(failed / N - P) <= TOLERANCE


def test_sampling_is_reproducible_with_a_seed() -> None:
    def run(seed: int) -> list[bool]:
        chaos = Chaos(clock=FakeClock(), rng=random.Random(seed).random)
        chaos.apply(ChaosSpec(ChaosKind.ERROR, rate=0.3))
        return [chaos.effect().fail for _ in range(200)]

    assert run(42) == run(42)
    assert run(42) != run(43)
