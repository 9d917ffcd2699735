"""One nginx log line → one Record. Pure: the collector's only view of a request.

The line format is `nginx.LOG_FORMAT`: tab-separated, a version tag first and the path last.
nginx escapes control characters (tabs included) in variables as `\\xHH`, so no field
but the path can hold a tab and the path cannot either; a line with another shape is
garbage (a torn write, a foreign format) and is rejected, never guessed at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TAG = b"sd1"
FIELD_COUNT = 8
TRACKS = ("stable", "canary")
MAX_LINE = 16 * 1024  # longer than any line nginx writes for us (paths are capped at 8 KiB)


@dataclass(frozen=True, slots=True)
class Record:
    time: float  # $msec: when nginx finished the request, seconds since the epoch
    status: int
    latency_s: float  # the upstream's response time (summed over retries), else $request_time
    track: str  # "stable" | "canary": nginx's own routing decision
    pinned: bool  # routed by the header override, not by the weights
    path: str


def parse_line(line: bytes) -> Record | None:  # noqa: PLR0911 - one early exit per check
    """The Record of one line (without or with its newline); None for anything malformed."""
    if len(line) > MAX_LINE:
        return None
    parts = line.rstrip(b"\r\n").split(b"\t")
    if len(parts) != FIELD_COUNT or parts[0] != TAG:
        return None
    _, msec, status, upstream, request_time, track, pin, path = parts
    try:
        when = float(msec)
        code = int(status)
        total = float(request_time)
    except ValueError:
        return None
    if not (math.isfinite(when) and when > 0 and math.isfinite(total) and total >= 0):
        return None
    if not 100 <= code <= 999:
        return None
    name = track.decode("ascii", "replace")
    if name not in TRACKS or pin not in (b"", b"stable", b"canary"):
        return None
    latency = _upstream_seconds(upstream)
    return Record(
        time=when,
        status=code,
        latency_s=total if latency is None else latency,
        track=name,
        pinned=pin != b"",
        path=path.decode("utf-8", "replace"),
    )


def _upstream_seconds(field: bytes) -> float | None:
    """$upstream_response_time: `0.012`, `0.001, 0.010` (retries), `0.002 : 0.004`
    (internal redirects) or `-` (no upstream answered). The sum is what the upstreams took."""
    if field == b"-":
        return None
    total, seen = 0.0, False
    for raw in field.replace(b":", b",").split(b","):
        part = raw.strip()
        if part in (b"", b"-"):
            continue
        try:
            value = float(part)
        except ValueError:
            return None
        if not math.isfinite(value) or value < 0:
            return None
        total += value
        seen = True
    return total if seen else None
