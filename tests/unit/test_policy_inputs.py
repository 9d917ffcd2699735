"""The one builder of policy inputs: what promote, rollout, dry run and status ask."""

from __future__ import annotations

from swiftdeploy.policy.facts import canary_input, canary_start_input, promotion_input


def test_canary_start_input() -> None:
    assert canary_start_input("stable", "v2") == {
        "action": "promote", "from": "stable", "to": "canary", "version": "v2",
    }  # fmt: skip


def test_promotion_input_rounds_to_the_printed_precision() -> None:
    figures = {
        "canary": {"error_rate": 0.012345, "p99_ms": 123.456, "request_count": 9,
                   "window_s": 8.325, "req_per_s": 1.5, "counter_reset": False},
        "stable": {"error_rate": 0.000149, "p99_ms": None, "request_count": 3, "window_s": 8.0},
    }  # fmt: skip
    built = promotion_input("v2", figures, analysis={"phase": "analysis", "step": 1, "weight": 20})
    assert list(built) == [
        "action", "from", "to", "phase", "step", "weight", "version",
        "error_rate", "p99_ms", "request_count", "window_s", "req_per_s", "counter_reset",
        "stable",
    ]  # fmt: skip
    assert (built["error_rate"], built["p99_ms"], built["window_s"]) == (0.0123, 123.5, 8.32)
    assert built["stable"] == {"error_rate": 0.0001, "p99_ms": None, "request_count": 3,
                               "window_s": 8.0}  # fmt: skip


def test_promotion_input_for_status_has_no_version() -> None:
    built = promotion_input(None, {"canary": {"error_rate": 0.0, "request_count": 0}})
    assert "version" not in built
    assert "stable" not in built


def test_canary_input_rounds_as_promotion_input() -> None:
    bare = canary_input(error_rate=0.012345, p99_ms=123.456, request_count=9, window_s=10)
    figures = {"error_rate": 0.012345, "p99_ms": 123.456, "request_count": 9, "window_s": 10}
    built = promotion_input(None, {"canary": figures})
    assert bare == built
