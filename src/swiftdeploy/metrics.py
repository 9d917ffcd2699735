"""Prometheus text → windowed rates, error rate and P99, computed the way Prometheus would.

`parse` and `window` are pure so the dashboard, the policy facts and the tests share one
definition of "error rate" and "P99"; `scrape` is the only function that does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from swiftdeploy.errors import MetricsError, MetricsUnavailable

REQUESTS_TOTAL = "http_requests_total"
DURATION = "http_request_duration_seconds"
# Scrapes, health probes and chaos toggles are not user traffic: counting them would let the
# observer's own polling dilute (or inflate) the error rate it is trying to measure.
OBSERVABILITY_PATHS = frozenset({"/metrics", "/healthz", "/chaos"})
# Suggested buckets for the demo service: fine below 50 ms and exactly 0.5 s, so the
# "P99 ≤ 500 ms" policy decision lands on a bucket boundary and is exact.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MODES = {0: "stable", 1: "canary"}
CHAOS = {0: "none", 1: "slow", 2: "error"}

RequestKey = tuple[str, str, str]  # (method, path, status_code)
K = TypeVar("K")


@dataclass(frozen=True)
class Scrape:
    requests: Mapping[RequestKey, float] = field(default_factory=dict)
    # Cumulative counts keyed by upper bound (math.inf included), summed over every label
    # set whose path is not an observability path.
    buckets: Mapping[float, float] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    uptime_s: float | None = None
    mode: str | None = None
    chaos: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class WindowStats:
    request_count: float
    error_count: float
    error_rate: float  # 0.0 when there was no traffic; check request_count to tell apart
    req_per_s: float
    p99_ms: float | None
    window_s: float
    counter_reset: bool


def parse(text: str) -> Scrape:
    """Parse Prometheus text format; raise MetricsError on anything else."""
    requests: dict[RequestKey, float] = {}
    buckets: dict[float, float] = {}
    gauges: dict[str, float] = {}
    version: str | None = None
    info_mode: str | None = None
    seen = 0
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                seen += 1
                labels = sample.labels
                if sample.name == REQUESTS_TOTAL:
                    key = (
                        labels.get("method", ""),
                        labels.get("path", ""),
                        labels.get("status_code", ""),
                    )
                    requests[key] = requests.get(key, 0.0) + sample.value
                elif sample.name == DURATION + "_bucket":
                    if labels.get("path") in OBSERVABILITY_PATHS:
                        continue
                    le = float(labels["le"])
                    buckets[le] = buckets.get(le, 0.0) + sample.value
                elif sample.name == "app_info":
                    version = labels.get("version", version)
                    info_mode = labels.get("mode", info_mode)
                elif family.type == "gauge" and not labels and not sample.name.endswith("_created"):
                    gauges[sample.name] = sample.value
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise MetricsError(f"not Prometheus text format: {exc}") from exc
    if seen == 0:
        raise MetricsError("no metrics in the response")
    if buckets and math.inf not in buckets:
        raise MetricsError(f"histogram {DURATION} has no +Inf bucket")
    return Scrape(
        requests=requests,
        buckets=buckets,
        gauges=gauges,
        uptime_s=gauges.get("app_uptime_seconds"),
        mode=_enum(gauges.get("app_mode"), MODES) or info_mode,
        chaos=_enum(gauges.get("chaos_active"), CHAOS),
        version=version,
    )


def _enum(value: float | None, names: Mapping[int, str]) -> str | None:
    if value is None or math.isnan(value):
        return None
    return names.get(int(value), str(int(value)))


def window(before: Scrape, after: Scrape, elapsed_s: float) -> WindowStats:
    """Stats for the interval between two scrapes of the same process (or its restart)."""
    reset = _went_down(before.requests, after.requests) or _went_down(before.buckets, after.buckets)
    if (
        before.uptime_s is not None
        and after.uptime_s is not None
        and after.uptime_s < before.uptime_s
    ):
        reset = True
    if reset:
        # Like rate(): after a restart the counters started from zero, so `after` alone is
        # the increase; and the window is only as long as the new process has lived.
        base_requests: Mapping[RequestKey, float] = {}
        base_buckets: Mapping[float, float] = {}
        if after.uptime_s is not None and after.uptime_s > 0:
            elapsed_s = min(elapsed_s, after.uptime_s)
    else:
        base_requests, base_buckets = before.requests, before.buckets
    total = errors = 0.0
    for key, value in after.requests.items():
        _method, path, status = key
        if path in OBSERVABILITY_PATHS:
            continue
        delta = max(0.0, value - base_requests.get(key, 0.0))
        total += delta
        if status.startswith("5"):
            errors += delta
    deltas = {le: max(0.0, v - base_buckets.get(le, 0.0)) for le, v in after.buckets.items()}
    return WindowStats(
        request_count=total,
        error_count=errors,
        error_rate=errors / total if total > 0 else 0.0,
        req_per_s=total / elapsed_s if elapsed_s > 0 else 0.0,
        p99_ms=_ms(histogram_quantile(0.99, deltas)),
        window_s=max(0.0, elapsed_s),
        counter_reset=reset,
    )


def _went_down(before: Mapping[K, float], after: Mapping[K, float]) -> bool:
    # A series that vanished also means a restart: a fresh process has not seen it yet.
    return any(after.get(key, 0.0) < value for key, value in before.items())


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus's histogram_quantile over cumulative bucket counts; None if no data."""
    ordered = sorted(buckets.items())
    if len(ordered) < 2 or ordered[-1][0] != math.inf:
        return None
    # Cumulative counts must not decrease; enforce it as Prometheus does (float noise,
    # or buckets summed from series scraped at slightly different moments).
    bounds: list[float] = []
    counts: list[float] = []
    running = 0.0
    for upper, count in ordered:
        running = max(running, count)
        bounds.append(upper)
        counts.append(running)
    observations = counts[-1]
    if observations <= 0:
        return None
    rank = q * observations
    # q * n can land a hair above an integer (0.29 * 100 = 29.000000000000004) and push
    # the rank into the next bucket; the counts are integers, so snap.
    if abs(rank - round(rank)) < 1e-9:
        rank = float(round(rank))
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    end = bounds[b]
    if b == 0:
        if end <= 0:
            return end
        start, in_bucket = 0.0, counts[0]
    else:
        start, in_bucket = bounds[b - 1], counts[b] - counts[b - 1]
        rank -= counts[b - 1]
    return min(end, start + (end - start) * (rank / in_bucket))


def scrape(client: httpx.Client, url: str) -> Scrape:
    """GET url with the caller's client (TCP or Unix socket) and parse it."""
    try:
        response = client.get(url)
    except httpx.ConnectError as exc:
        raise MetricsUnavailable(f"cannot connect to {url}: {exc or 'connection refused'}") from exc
    except httpx.TimeoutException as exc:
        raise MetricsUnavailable(f"timed out scraping {url}") from exc
    except httpx.HTTPError as exc:
        raise MetricsUnavailable(f"scraping {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise MetricsUnavailable(f"scraping {url} returned HTTP {response.status_code}")
    try:
        return parse(response.text)
    except MetricsError as exc:
        raise MetricsError(f"{url}: {exc.message}") from exc
