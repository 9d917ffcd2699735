"""Charts for the audit report, drawn from a series that stays small however long the history.

`Downsampler` keeps at most `capacity` buckets while streaming: when full, neighbours merge
and each bucket covers twice as many samples. Memory is constant and no sample is dropped
from the aggregate (error rate is averaged, P99 keeps the worst value per bucket, so a
spike never disappears from the chart).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Bucket:
    ts: str  # first sample's timestamp
    error_sum: float = 0.0
    error_n: int = 0
    p99_max: float | None = None
    samples: int = 0

    def add(self, error_rate: float | None, p99_ms: float | None) -> None:
        self.samples += 1
        if error_rate is not None:
            self.error_sum += error_rate
            self.error_n += 1
        if p99_ms is not None and (self.p99_max is None or p99_ms > self.p99_max):
            self.p99_max = p99_ms

    def merge(self, other: Bucket) -> None:
        self.samples += other.samples
        self.error_sum += other.error_sum
        self.error_n += other.error_n
        if other.p99_max is not None and (self.p99_max is None or other.p99_max > self.p99_max):
            self.p99_max = other.p99_max

    @property
    def error_rate(self) -> float | None:
        return self.error_sum / self.error_n if self.error_n else None


@dataclass
class Downsampler:
    capacity: int = 512
    stride: int = 1
    buckets: list[Bucket] = field(default_factory=list)
    total: int = 0

    def add(self, ts: str, error_rate: float | None, p99_ms: float | None) -> None:
        self.total += 1
        if not self.buckets or self.buckets[-1].samples >= self.stride:
            if len(self.buckets) >= self.capacity:
                self._halve()
            if not self.buckets or self.buckets[-1].samples >= self.stride:
                self.buckets.append(Bucket(ts))
        self.buckets[-1].add(error_rate, p99_ms)

    def _halve(self) -> None:
        merged: list[Bucket] = []
        for i in range(0, len(self.buckets), 2):
            first = self.buckets[i]
            if i + 1 < len(self.buckets):
                first.merge(self.buckets[i + 1])
            merged.append(first)
        self.buckets = merged
        self.stride *= 2


def _when(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts)
    except ValueError:
        return None


def render_charts(series: Downsampler) -> dict[str, bytes]:
    """PNG bytes for the error-rate and P99 charts; {} when there is nothing to draw."""
    points = [(when, b) for b in series.buckets if (when := _when(b.ts)) is not None]
    if not points:
        return {}
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    charts: dict[str, bytes] = {}
    specs: list[tuple[str, str, Callable[[Bucket], float | None], str]] = [
        ("audit_error_rate.png", "Error rate (%)", _error_pct, "tab:red"),
        ("audit_p99.png", "P99 latency (ms)", _p99, "tab:blue"),
    ]
    for name, label, value_of, colour in specs:
        pairs = [(when, y) for when, b in points if (y := value_of(b)) is not None]
        xs: list[Any] = [when for when, _ in pairs]
        ys: list[float] = [y for _, y in pairs]
        figure, axes = plt.subplots(figsize=(9, 3), dpi=100)
        try:
            if xs:
                axes.plot(xs, ys, color=colour, linewidth=1.2, marker="." if len(xs) < 60 else "")
            else:
                axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
            axes.set_ylabel(label)
            axes.set_ylim(bottom=0)
            axes.grid(alpha=0.3)
            stride = f" (each point: up to {series.stride} samples)" if series.stride > 1 else ""
            axes.set_title(f"{label} over time{stride}", fontsize=10)
            figure.autofmt_xdate()
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            charts[name] = buffer.getvalue()
        finally:
            plt.close(figure)
    return charts


def _error_pct(bucket: Bucket) -> float | None:
    rate = bucket.error_rate
    return None if rate is None else rate * 100


def _p99(bucket: Bucket) -> float | None:
    return bucket.p99_max
