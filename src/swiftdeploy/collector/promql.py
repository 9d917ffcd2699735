"""The same window from a Prometheus server that scrapes the collector (`analysis.source:
prometheus`).

An operator who already runs Prometheus can have the gate read the figures from it, by the
PromQL they would write themselves: `increase()` over the window for counts,
`histogram_quantile(0.99, sum by (le) (rate(…_bucket[W])))` for the P99. The answer is the
collector's `Figures`, so the policy sees the same facts whichever source measured them.
Prometheus extrapolates `rate()` to the edges of its range, the collector counts whole
seconds: on the same traffic they agree within the tolerances stated in
tests/integration/test_collector_prometheus.py (rates 15 %, error rate 0.05, P99 15 %).
"""

from __future__ import annotations

import math
import re
import time

import httpx

from swiftdeploy.collector.query import CollectorUnavailable
from swiftdeploy.collector.series import CLASSES, Figures

_TRACK_RE = re.compile(r"[a-z]+")


class PrometheusUnavailable(CollectorUnavailable):
    """The Prometheus server did not answer, or answered something that is not a result."""


def window(
    url: str,
    track: str,
    seconds: int,
    *,
    at: float | None = None,
    client: httpx.Client | None = None,
) -> Figures:
    """`track`'s last `seconds` as Prometheus saw them, evaluated at `at` (default: now)."""
    if not _TRACK_RE.fullmatch(track) or seconds < 1:
        raise ValueError(f"bad window: track {track!r}, {seconds} s")
    moment = time.time() if at is None else at
    own = client is None
    http = client or httpx.Client(timeout=5.0)
    try:
        ask = _Asker(http, url.rstrip("/"), moment)
        selector = f'swiftdeploy_requests_total{{track="{track}"}}'
        span = f"[{seconds}s]"
        by_code = ask.vector(f"sum by (code) (increase({selector}{span}))")
        p99_s = ask.scalar(
            "histogram_quantile(0.99, sum by (le) "
            f'(rate(swiftdeploy_request_duration_seconds_bucket{{track="{track}"}}{span})))'
        )
        pinned = ask.scalar(
            f'sum(increase(swiftdeploy_excluded_requests_total{{track="{track}",'
            f'reason="pinned"}}{span}))'
        )
        # When the collector last read its log to the end: the newest scrape minus its lag.
        scraped = ask.scalar("max(timestamp(swiftdeploy_collector_up))")
        lag = ask.scalar("max(swiftdeploy_collector_lag_seconds)")
        first = ask.scalar(
            f"min(min_over_time(timestamp(swiftdeploy_collector_up)[{seconds}s:1s]))"
        )
    finally:
        if own:
            http.close()
    if math.isnan(scraped):
        # Not "the collector has not read the log": it may be fine; Prometheus never saw it.
        raise PrometheusUnavailable(
            f"Prometheus at {url} has no sample of swiftdeploy_collector_up in the last "
            "5 minutes: it does not scrape the collector (see .swiftdeploy/collector/"
            "collector.port)"
        )
    by_class = dict.fromkeys((*CLASSES, "other"), 0)
    for code, count in by_code.items():
        key = f"{code[:1]}xx" if f"{code[:1]}xx" in CLASSES and len(code) == 3 else "other"
        by_class[key] += round(count)
    requests = sum(by_class.values())
    errors = by_class.get("5xx", 0)
    fresh_until = 0.0 if math.isnan(lag) or math.isinf(lag) else scraped - lag
    covered = 0 if math.isnan(first) else min(seconds, max(0, round(moment - first)))
    return Figures(
        track=track,
        window_s=seconds,
        end_s=int(moment),
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        req_per_s=requests / seconds,
        p99_ms=None if requests == 0 or math.isnan(p99_s) else p99_s * 1000,
        pinned=0 if math.isnan(pinned) else round(pinned),
        by_class=by_class,
        covered_s=covered,
        fresh_until=fresh_until,
    )


class _Asker:
    """Instant queries against /api/v1/query at one evaluation time."""

    def __init__(self, http: httpx.Client, url: str, at: float) -> None:
        self.http, self.url, self.at = http, url, at

    def _result(self, expr: str) -> list[dict[str, object]]:
        try:
            response = self.http.get(
                f"{self.url}/api/v1/query", params={"query": expr, "time": f"{self.at:.3f}"}
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            message = f"Prometheus at {self.url} did not answer: {exc}"
            raise PrometheusUnavailable(message) from exc
        if (
            response.status_code != 200
            or not isinstance(body, dict)
            or body.get("status") != "success"
        ):
            error = body.get("error") if isinstance(body, dict) else None
            raise PrometheusUnavailable(
                f"Prometheus at {self.url} answered HTTP {response.status_code}: "
                f"{error or response.text[:200]}"
            )
        data = body.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise PrometheusUnavailable(f"Prometheus at {self.url} answered a malformed result")
        return result

    def vector(self, expr: str) -> dict[str, float]:
        """{code label: value} of a `sum by (code)` vector (empty when nothing matched)."""
        values: dict[str, float] = {}
        for sample in self._result(expr):
            metric, value = sample.get("metric"), sample.get("value")
            if not isinstance(metric, dict) or not isinstance(value, list) or len(value) != 2:
                raise PrometheusUnavailable(f"Prometheus at {self.url} answered a malformed sample")
            values[str(metric.get("code", ""))] = _number(value[1], self.url)
        return values

    def scalar(self, expr: str) -> float:
        """The single value of an aggregated expression; NaN when nothing matched."""
        result = self._result(expr)
        if not result:
            return math.nan
        value = result[0].get("value")
        if not isinstance(value, list) or len(value) != 2:
            raise PrometheusUnavailable(f"Prometheus at {self.url} answered a malformed sample")
        return _number(value[1], self.url)


def _number(text: object, url: str) -> float:
    try:
        return float(str(text))
    except ValueError:
        raise PrometheusUnavailable(
            f"Prometheus at {url} answered {text!r}, not a number"
        ) from None
