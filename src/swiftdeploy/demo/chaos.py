"""Chaos state of one demo-service instance: what to inject, for how long, and validation.

Pure logic with an injected clock and random source, so the HTTP layer stays thin and the
semantics (TTL expiry, error-rate sampling) are testable without sleeping.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

MAX_SLOW_SECONDS = 60.0
MAX_TTL_SECONDS = 86_400.0


class ChaosKind(IntEnum):
    """Values double as the `chaos_active` gauge: 0 none, 1 slow, 2 error."""

    NONE = 0
    SLOW = 1
    ERROR = 2


class ChaosRequestError(ValueError):
    """A /chaos body that cannot be applied; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ChaosSpec:
    """A validated chaos request. `kind` NONE means "recover"."""

    kind: ChaosKind
    duration: float = 0.0
    rate: float = 0.0
    ttl: float | None = None


@dataclass(frozen=True)
class Effect:
    """What to do to one application request: sleep first, then maybe fail."""

    delay: float = 0.0
    fail: bool = False


NO_EFFECT = Effect()

_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "slow": frozenset({"mode", "duration", "ttl"}),
    "error": frozenset({"mode", "rate", "ttl"}),
    "recover": frozenset({"mode"}),
}


def _number(body: Mapping[str, Any], field: str) -> float:
    if field not in body:
        raise ChaosRequestError(field, f"{field} is required")
    value = body[field]
    # bool is an int subclass; `true` is not a duration.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaosRequestError(field, f"{field} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ChaosRequestError(field, f"{field} must be finite")
    return number


MAX_JSON_DEPTH = 32  # a chaos body is one flat object; Python's json recurses per level


def check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than limit before it reaches the recursive decoder.

    One linear scan of the (size-bounded) body; brackets inside strings do not count.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise ChaosRequestError("body", f"body is nested deeper than {limit} levels")
        elif char in "]}":
            depth -= 1


def parse_spec(body: object) -> ChaosSpec:
    """Validate a decoded JSON body; raises ChaosRequestError naming the bad field."""
    if not isinstance(body, dict):
        raise ChaosRequestError("body", "body must be a JSON object")
    mode = body.get("mode")
    if not isinstance(mode, str) or mode not in _ALLOWED_KEYS:
        raise ChaosRequestError("mode", "mode must be one of: slow, error, recover")
    unknown = sorted(set(body) - _ALLOWED_KEYS[mode])
    if unknown:
        raise ChaosRequestError(unknown[0], f"{unknown[0]} is not allowed with mode {mode}")
    if mode == "recover":
        return ChaosSpec(ChaosKind.NONE)
    ttl: float | None = None
    if "ttl" in body:
        ttl = _number(body, "ttl")
        if not 0 < ttl <= MAX_TTL_SECONDS:
            raise ChaosRequestError("ttl", f"ttl must be in (0, {MAX_TTL_SECONDS:g}] seconds")
    if mode == "slow":
        duration = _number(body, "duration")
        if not 0 < duration <= MAX_SLOW_SECONDS:
            raise ChaosRequestError(
                "duration", f"duration must be in (0, {MAX_SLOW_SECONDS:g}] seconds"
            )
        return ChaosSpec(ChaosKind.SLOW, duration=duration, ttl=ttl)
    rate = _number(body, "rate")
    if not 0 <= rate <= 1:
        raise ChaosRequestError("rate", "rate must be in [0, 1]")
    return ChaosSpec(ChaosKind.ERROR, rate=rate, ttl=ttl)


class Chaos:
    """The active chaos of one process; single event loop, so no locking is needed."""

    def __init__(
        self, *, clock: Callable[[], float], rng: Callable[[], float] | None = None
    ) -> None:
        self._clock = clock
        self._rng = rng if rng is not None else random.Random().random
        self._spec = ChaosSpec(ChaosKind.NONE)
        self._expires_at: float | None = None

    def apply(self, spec: ChaosSpec) -> None:
        self._spec = spec
        self._expires_at = None if spec.ttl is None else self._clock() + spec.ttl

    def current(self) -> ChaosSpec:
        """The spec in force now; an expired TTL reads as recovered (and is cleared)."""
        if self._expires_at is not None and self._clock() >= self._expires_at:
            self.apply(ChaosSpec(ChaosKind.NONE))
        return self._spec

    def kind(self) -> ChaosKind:
        return self.current().kind

    def effect(self) -> Effect:
        """Decide the effect on one application request."""
        spec = self.current()
        if spec.kind is ChaosKind.NONE:
            return NO_EFFECT
        if spec.kind is ChaosKind.SLOW:
            return Effect(delay=spec.duration)
        # rate 1.0 must always fail and rate 0.0 never: random() is in [0, 1).
        return Effect(fail=self._rng() < spec.rate)

    def state(self) -> dict[str, Any]:
        """JSON-ready description for GET/POST /chaos."""
        spec = self.current()
        names = {ChaosKind.NONE: "none", ChaosKind.SLOW: "slow", ChaosKind.ERROR: "error"}
        out: dict[str, Any] = {"mode": names[spec.kind], "active": spec.kind is not ChaosKind.NONE}
        if spec.kind is ChaosKind.SLOW:
            out["duration"] = spec.duration
        if spec.kind is ChaosKind.ERROR:
            out["rate"] = spec.rate
        if self._expires_at is not None:
            out["expires_in"] = round(max(0.0, self._expires_at - self._clock()), 3)
        return out
