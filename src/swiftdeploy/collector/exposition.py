"""Prometheus exposition of the collector (prometheus_client, a custom collector).

    swiftdeploy_requests_total{track,code}             requests judged (probes, pinned: no)
    swiftdeploy_request_duration_seconds{track}         histogram (le: metrics.LATENCY_BUCKETS)
    swiftdeploy_excluded_requests_total{track,reason}   probe/metrics paths, header-pinned
    swiftdeploy_collector_lines_total                   log lines read
    swiftdeploy_collector_unparseable_lines_total       garbage or truncated lines skipped
    swiftdeploy_collector_dropped_total{reason}         parsed but not counted (too_old, ...)
    swiftdeploy_collector_journal_errors_total          failed journal writes (full disk)
    swiftdeploy_collector_lag_seconds                   seconds since the log was read to its end
    swiftdeploy_collector_up                            1

The series are exactly the collector's own counts, so PromQL over them and `window()`
agree up to Prometheus's extrapolation at the window's edges.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector as _PromCollector

from swiftdeploy.collector.core import Collector
from swiftdeploy.metrics import LATENCY_BUCKETS


class Exposition(_PromCollector):
    def __init__(
        self,
        collector: Collector,
        lock: threading.Lock,
        journal_errors: Callable[[], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.collector = collector
        self.lock = lock
        self.journal_errors = journal_errors
        self.clock = clock

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        with self.lock:
            c = self.collector
            s = c.series
            codes = dict(s.codes)
            hist = {t: list(h) for t, h in s.hist.items()}
            sums = dict(s.sum_us)
            excluded = dict(s.excluded)
            lines, unparseable, dropped = c.lines, c.unparseable, dict(c.dropped)
            fresh = c.fresh_until
        requests = CounterMetricFamily(
            "swiftdeploy_requests",
            "Requests proxied by nginx, by track and status code",
            labels=["track", "code"],
        )
        for (track, code), n in sorted(codes.items()):
            requests.add_metric([track, str(code)], n)
        yield requests
        duration = HistogramMetricFamily(
            "swiftdeploy_request_duration_seconds",
            "Upstream response time of proxied requests, by track",
            labels=["track"],
        )
        for track, counts in sorted(hist.items()):
            running = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*LATENCY_BUCKETS, math.inf), counts, strict=True):
                running += count
                buckets.append(("+Inf" if bound == math.inf else repr(bound), running))
            duration.add_metric([track], buckets, sum_value=sums[track] / 1_000_000)
        yield duration
        skipped = CounterMetricFamily(
            "swiftdeploy_excluded_requests",
            "Requests kept out of the analysis: probe/metrics paths, header-pinned",
            labels=["track", "reason"],
        )
        for (track, reason), n in sorted(excluded.items()):
            skipped.add_metric([track, reason], n)
        yield skipped
        yield CounterMetricFamily(
            "swiftdeploy_collector_lines", "Log lines read by the collector", value=lines
        )
        yield CounterMetricFamily(
            "swiftdeploy_collector_unparseable_lines",
            "Garbage or truncated log lines, counted and skipped",
            value=unparseable,
        )
        lost = CounterMetricFamily(
            "swiftdeploy_collector_dropped",
            "Parsed log lines not counted in the series, by reason",
            labels=["reason"],
        )
        for reason in sorted({"too_old", "oversized", "continuity", *dropped}):
            lost.add_metric([reason], dropped.get(reason, 0))
        yield lost
        yield CounterMetricFamily(
            "swiftdeploy_collector_journal_errors",
            "Journal writes that failed (e.g. a full disk); the rows are retried",
            value=self.journal_errors(),
        )
        yield GaugeMetricFamily(
            "swiftdeploy_collector_lag_seconds",
            "Seconds since the collector last read the log to its end",
            value=max(0.0, self.clock() - fresh) if fresh else math.inf,
        )
        yield GaugeMetricFamily("swiftdeploy_collector_up", "The collector is running", value=1)


def registry_for(exposition: Exposition) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exposition)
    return registry
