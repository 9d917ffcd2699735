"""Wall-clock instants as the RFC 3339 UTC text SwiftDeploy writes everywhere ("…Z")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["seconds", "milliseconds", "microseconds"]


def iso_utc(moment: datetime | None = None, *, timespec: Precision = "seconds") -> str:
    """`moment` (default: now) in UTC, e.g. 2026-12-02T12:03:04Z."""
    utc = (moment or datetime.now(UTC)).astimezone(UTC)
    return utc.isoformat(timespec=timespec).replace("+00:00", "Z")


def epoch(text: str) -> float | None:
    """The Unix time of an instant written as iso_utc writes it; None when it is not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
