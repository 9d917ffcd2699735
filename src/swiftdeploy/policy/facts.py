"""Facts the policies decide on: the host's resources, and the canary's measured figures."""

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
    """Input for the canary policy.

    Figures are rounded to the precision the policy prints (0.01 % and 0.1 ms): then
    no value sits on a rounding tie, where OPA's decimal and rego-cpp's double arithmetic
    could print the last digit differently.
    """
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
