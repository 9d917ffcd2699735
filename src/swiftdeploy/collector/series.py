"""Bounded per-track time series: 1-second buckets in a fixed ring, plus running totals.

Each second of each track is one row of WIDTH integers: counts by status class, a latency
histogram (non-cumulative, upper bounds LATENCY_BUCKETS then +Inf, so 0.5 s is a bound
and "P99 ≤ 500 ms" is decided exactly), the latency sum in microseconds and the number of
pinned requests (routed by the header override, kept out of every other column).

Memory is fixed at start: rows * WIDTH * 8 bytes per track (3,600 s → 576 KiB). A row is
reused when its second falls out of the ring; a line older than the ring is dropped and
counted. Rows are written to the journal as absolute values, so replaying one twice is
harmless.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from swiftdeploy.collector.record import TRACKS, Record
from swiftdeploy.metrics import LATENCY_BUCKETS, WindowStats, histogram_quantile

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
OTHER = len(CLASSES)  # statuses 600-999 (nginx logs whatever a location returns)
HIST = len(CLASSES) + 1  # first histogram column
BUCKETS = len(LATENCY_BUCKETS) + 1  # the last one is +Inf
SUM_US = HIST + BUCKETS
PINNED = SUM_US + 1
WIDTH = PINNED + 1
ROW_BYTES = WIDTH * 8


@dataclass(frozen=True)
class Figures:
    """One track over whole seconds [end_s - window_s, end_s): what a gate judges."""

    track: str
    window_s: int
    end_s: int
    requests: int
    errors: int  # 5xx, as swiftdeploy.metrics counts errors
    error_rate: float  # 0.0 with no traffic: look at `requests`
    req_per_s: float
    p99_ms: float | None  # histogram_quantile(0.99, ...) over the window; None with no traffic
    pinned: int  # requests routed by the header override (not in the figures above)
    by_class: Mapping[str, int]
    covered_s: int  # how many seconds of the window the collector was watching
    fresh_until: float  # every request that ended before this instant is counted

    def as_window_stats(self) -> WindowStats:
        """The same figures in the shape the gate already takes from a service's /metrics."""
        return WindowStats(
            request_count=float(self.requests),
            error_count=float(self.errors),
            error_rate=self.error_rate,
            req_per_s=self.req_per_s,
            p99_ms=self.p99_ms,
            window_s=float(self.window_s),
            counter_reset=False,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "track": self.track,
            "window_s": self.window_s,
            "end_s": self.end_s,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "req_per_s": self.req_per_s,
            "p99_ms": self.p99_ms,
            "pinned": self.pinned,
            "by_class": dict(self.by_class),
            "covered_s": self.covered_s,
            "fresh_until": self.fresh_until,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Figures:
        p99 = data["p99_ms"]
        by_class = data["by_class"]
        if not isinstance(by_class, Mapping):
            raise ValueError("by_class must be an object")
        return cls(
            track=str(data["track"]),
            window_s=_int(data["window_s"]),
            end_s=_int(data["end_s"]),
            requests=_int(data["requests"]),
            errors=_int(data["errors"]),
            error_rate=_float(data["error_rate"]),
            req_per_s=_float(data["req_per_s"]),
            p99_ms=None if p99 is None else _float(p99),
            pinned=_int(data["pinned"]),
            by_class={str(k): _int(v) for k, v in by_class.items()},
            covered_s=_int(data["covered_s"]),
            fresh_until=_float(data["fresh_until"]),
        )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def status_column(status: int) -> int:
    klass = status // 100
    return klass - 1 if 1 <= klass <= len(CLASSES) else OTHER


def bucket_column(latency_s: float) -> int:
    # Prometheus buckets are `le`: a value equal to a bound belongs to that bound's bucket.
    return HIST + bisect.bisect_left(LATENCY_BUCKETS, latency_s)


class Ring:
    """`rows` consecutive seconds of one track; row i holds second s where s % rows == i."""

    def __init__(self, rows: int) -> None:
        if rows < 1:
            raise ValueError("a ring needs at least one row")
        self.rows = rows
        self.seconds = array("q", [-1]) * rows
        self.cells = array("q", bytes(rows * ROW_BYTES))

    def row(self, second: int, *, create: bool) -> int | None:
        """Offset of second's row in cells; None when it is older than the ring holds."""
        index = second % self.rows
        held = self.seconds[index]
        if held == second:
            return index * WIDTH
        if held > second or not create:
            return None
        base = index * WIDTH
        self.cells[base : base + WIDTH] = array("q", bytes(ROW_BYTES))
        self.seconds[index] = second
        return base

    def get(self, second: int) -> list[int] | None:
        base = self.row(second, create=False)
        return None if base is None else list(self.cells[base : base + WIDTH])

    def put(self, second: int, values: Iterable[int]) -> bool:
        base = self.row(second, create=True)
        if base is None:
            return False
        row = array("q", values)
        if len(row) != WIDTH:
            raise ValueError(f"a row has {WIDTH} values, got {len(row)}")
        self.cells[base : base + WIDTH] = row
        return True

    def items(self) -> Iterator[tuple[int, list[int]]]:
        for index in range(self.rows):
            second = self.seconds[index]
            if second >= 0:
                base = index * WIDTH
                yield second, list(self.cells[base : base + WIDTH])


class Series:
    """Every track's ring, the running totals behind /metrics, and what is not yet saved."""

    def __init__(self, retention_s: int = 3600) -> None:
        self.retention_s = retention_s
        # One spare row, so the second being filled never evicts the oldest one of the window.
        self.rings = {track: Ring(retention_s + 1) for track in TRACKS}
        self.codes: dict[tuple[str, int], int] = {}
        self.hist = {track: [0] * BUCKETS for track in TRACKS}
        self.sum_us = dict.fromkeys(TRACKS, 0)
        self.excluded: dict[tuple[str, str], int] = {}
        self.dirty: set[tuple[str, int]] = set()
        self.newest_s = -1

    def add(self, record: Record, *, excluded: bool, count: int = 1) -> bool:
        """Count `count` requests like record; False when it is older than the ring (the
        caller counts it)."""
        track = record.track
        if excluded or record.pinned:
            reason = "path" if excluded else "pinned"
            key = (track, reason)
            self.excluded[key] = self.excluded.get(key, 0) + count
            if excluded:
                return True
        second = math.floor(record.time)
        ring = self.rings[track]
        base = ring.row(second, create=True)
        if base is None:
            return False
        self.dirty.add((track, second))
        self.newest_s = max(self.newest_s, second)
        cells = ring.cells
        if record.pinned:
            cells[base + PINNED] += count
            return True
        micros = round(record.latency_s * 1_000_000) * count
        cells[base + status_column(record.status)] += count
        column = bucket_column(record.latency_s)
        cells[base + column] += count
        cells[base + SUM_US] += micros
        key2 = (track, record.status)
        self.codes[key2] = self.codes.get(key2, 0) + count
        self.hist[track][column - HIST] += count
        self.sum_us[track] += micros
        return True

    def take_dirty(self) -> dict[str, dict[int, list[int]]]:
        """The rows changed since the last call, as absolute values (for the journal)."""
        rows: dict[str, dict[int, list[int]]] = {}
        for track, second in sorted(self.dirty):
            values = self.rings[track].get(second)
            if values is not None:
                rows.setdefault(track, {})[second] = values
        self.dirty.clear()
        return rows

    def restore_rows(self, rows: Mapping[str, Mapping[int, list[int]]]) -> None:
        for track, seconds in rows.items():
            ring = self.rings.get(track)
            if ring is None:
                continue
            for second, values in seconds.items():
                if ring.put(second, values):
                    self.newest_s = max(self.newest_s, second)

    def window(
        self, track: str, seconds: int, *, end_s: int, covered_from: float, fresh_until: float
    ) -> Figures:
        """Figures of track over the whole seconds [end_s - seconds, end_s)."""
        if track not in self.rings:
            raise ValueError(f"unknown track {track!r}: expected one of {', '.join(TRACKS)}")
        if not 1 <= seconds <= self.retention_s:
            raise ValueError(f"a window is 1 to {self.retention_s} seconds, got {seconds}")
        ring = self.rings[track]
        totals = [0] * WIDTH
        for second in range(end_s - seconds, end_s):
            base = ring.row(second, create=False)
            if base is not None:
                row = ring.cells[base : base + WIDTH]
                for column in range(WIDTH):
                    totals[column] += row[column]
        requests = sum(totals[:HIST])
        errors = totals[CLASSES.index("5xx")]
        cumulative: dict[float, float] = {}
        running = 0
        for bound, count in zip((*LATENCY_BUCKETS, math.inf), totals[HIST:SUM_US], strict=True):
            running += count
            cumulative[bound] = float(running)
        p99 = histogram_quantile(0.99, cumulative)
        start = end_s - seconds
        watched = math.ceil(covered_from) if math.isfinite(covered_from) else end_s
        covered = max(0, end_s - max(start, watched))
        return Figures(
            track=track,
            window_s=seconds,
            end_s=end_s,
            requests=requests,
            errors=errors,
            error_rate=errors / requests if requests else 0.0,
            req_per_s=requests / seconds,
            p99_ms=None if p99 is None else p99 * 1000.0,
            pinned=totals[PINNED],
            by_class={name: totals[i] for i, name in enumerate(CLASSES)} | {"other": totals[OTHER]},
            covered_s=min(seconds, covered),
            fresh_until=fresh_until,
        )
