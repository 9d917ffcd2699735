"""Every policy input document: the host's resources, a canary's start, its measured figures.

The one place that builds what the policies are asked, so a dry run, `status`, a rollout's
analysis and `promote` ask identical questions. Figures are rounded to the precision the
policy prints (0.01 %, 0.1 ms and 0.01 s): then no value sits on a rounding tie, where OPA's
decimal and rego-cpp's double arithmetic could print the last digit differently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil


def infra_facts(path: Path) -> dict[str, Any]:
    """Input for the infra policy, measured on the filesystem that holds path."""
    disk = psutil.disk_usage(str(path))
    return {
        "action": "deploy",
        "disk_free_gb": round(disk.free / 1e9, 1),
        "cpu_load": round(os.getloadavg()[0], 2),
        "cpu_count": psutil.cpu_count() or 1,
        "mem_available_gb": round(psutil.virtual_memory().available / 1e9, 1),
    }


def canary_start_input(current_mode: str, version: str) -> dict[str, Any]:
    """Input for the canary policy when a canary of `version` is to start."""
    return {"action": "promote", "from": current_mode, "to": "canary", "version": version}


def promotion_input(
    version: str | None,
    figures: dict[str, dict[str, Any]],
    *,
    analysis: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Input for the canary policy judging a window of both tracks (`observe` figures).

    `analysis` (phase, step, weight) marks a rollout step; `version` is None for the
    compliance `status` shows, which judges whatever canary runs.
    """
    payload: dict[str, Any] = {"action": "promote", "from": "canary", "to": "stable"}
    payload.update(analysis or {})
    if version is not None:
        payload["version"] = version
    payload.update(rounded(figures.get("canary", {})))
    if "stable" in figures:
        payload["stable"] = rounded(figures["stable"])
    return payload


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    """error_rate to 0.0001, p99_ms to 0.1 and window_s to 0.01, as printed (None stays None).

    The window matters too: observe measures it to 0.001 s and the policy prints 0.01 s,
    so 8.325 s printed "8.32" from one engine and "8.33" from the other.
    """
    result = dict(figures)
    for key, digits in (("error_rate", 4), ("p99_ms", 1), ("window_s", 2)):
        value = result.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            result[key] = round(float(value), digits)
    return result


def canary_input(
    *,
    error_rate: float,
    p99_ms: float,
    request_count: int,
    window_s: float,
    from_track: str = "canary",
    to_track: str = "stable",
    stable: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Input for the canary policy from bare figures, rounded as `promotion_input` rounds."""
    payload: dict[str, Any] = {
        "action": "promote",
        "from": from_track,
        "to": to_track,
        "error_rate": round(error_rate, 4),
        "p99_ms": round(p99_ms, 1),
        "request_count": int(request_count),
        "window_s": window_s,
    }
    if stable is not None:
        payload["stable"] = {
            "error_rate": round(float(stable["error_rate"]), 4),
            "p99_ms": round(float(stable.get("p99_ms", 0.0)), 1),
            "request_count": int(stable.get("request_count", 0)),
        }
    return payload
