"""The demo service's own Prometheus metrics: request counts and latency per route."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge, Info, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from swiftdeploy.demo.chaos import Chaos
from swiftdeploy.demo.settings import Settings

# Fine buckets under 50 ms because healthy responses live there; 0.5 must be an exact bound
# because the promotion policy compares P99 against 500 ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestCollector(Collector):
    """Request counters and latency histograms as plain ints and floats.

    The app runs on one event loop and /metrics renders on that same loop, so nothing
    mutates these concurrently; skipping prometheus_client's per-value locks and the
    linear bucket scan keeps instrumentation at a fraction of a microsecond per request.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self.counts: dict[tuple[str, str, int], int] = {}
        # (method, path) -> [per-bucket counts incl. +Inf, sum of seconds]
        self.histograms: dict[tuple[str, str], tuple[list[int], list[float]]] = {}

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        histogram = self.histograms.get((method, path))
        if histogram is None:
            histogram = self.histograms[(method, path)] = ([0] * (len(BUCKETS) + 1), [0.0])
        # bisect_left finds the first bound >= seconds: Prometheus's `le` semantics.
        histogram[0][bisect.bisect_left(BUCKETS, seconds)] += 1
        histogram[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            "http_requests",
            "HTTP requests answered, by method, route and status code.",
            labels=["method", "path", "status_code"],
        )
        for (method, path, status), value in self.counts.items():
            counter.add_metric([method, path, str(status)], value)
        yield counter
        histogram = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Time spent answering HTTP requests, by method and route.",
            labels=["method", "path"],
        )
        for (method, path), (counts, total) in self.histograms.items():
            cumulative = list(itertools.accumulate(counts))
            buckets = [(_BOUND_LABELS[i], float(n)) for i, n in enumerate(cumulative)]
            histogram.add_metric([method, path], buckets, total[0])
        yield histogram
        yield GaugeMetricFamily(
            "http_requests_in_flight", "Requests being answered now.", value=self.in_flight
        )


# repr gives the exposition format's spelling for these bounds ("0.005", "1.0", ...).
_BOUND_LABELS = [*(repr(float(b)) for b in BUCKETS), "+Inf"]


class Metrics:
    """Request metrics in a dedicated registry, so several apps can live in one process."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float], chaos: Chaos) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        started = clock()
        uptime = Gauge("app_uptime_seconds", "Seconds since start.", registry=self.registry)
        uptime.set_function(lambda: clock() - started)
        Gauge("app_mode", "0 stable, 1 canary.", registry=self.registry).set(
            1 if settings.mode == "canary" else 0
        )
        active = Gauge("chaos_active", "0 none, 1 slow, 2 error.", registry=self.registry)
        active.set_function(lambda: float(chaos.kind()))
        Info("app", "Version and mode of this instance.", registry=self.registry).info(
            {"version": settings.version, "mode": settings.mode}
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
