from __future__ import annotations

import math

import pytest

from swiftdeploy.collector.record import Record
from swiftdeploy.collector.series import HIST, Figures, Series, bucket_column, status_column
from swiftdeploy.metrics import LATENCY_BUCKETS, histogram_quantile


def record(t: float, status: int = 200, latency: float = 0.01, **kw: object) -> Record:
    fields: dict[str, object] = {"track": "canary", "pinned": False, "path": "/"} | kw
    return Record(time=t, status=status, latency_s=latency, **fields)  # type: ignore[arg-type]


def test_half_a_second_is_a_bucket_bound_and_le_is_inclusive() -> None:
    assert 0.5 in LATENCY_BUCKETS
    assert bucket_column(0.5) == HIST + LATENCY_BUCKETS.index(0.5)
    assert bucket_column(0.5000001) == HIST + LATENCY_BUCKETS.index(0.5) + 1
    assert bucket_column(60.0) == HIST + len(LATENCY_BUCKETS)  # +Inf


@pytest.mark.parametrize(("status", "column"), [(101, 0), (204, 1), (302, 2), (499, 3), (503, 4)])
def test_status_classes(status: int, column: int) -> None:
    assert status_column(status) == column


def test_window_counts_whole_seconds_and_errors_by_5xx() -> None:
    series = Series(60)
    for second in range(100, 110):
        for i in range(10):
            status = 500 if (second == 105 and i < 5) else 200
            assert series.add(record(second + i / 10, status), excluded=False)
    figures = series.window("canary", 5, end_s=110, covered_from=0, fresh_until=110.2)
    assert (figures.requests, figures.errors, figures.error_rate) == (50, 5, 0.1)
    assert figures.req_per_s == 10.0
    assert figures.by_class["5xx"] == 5
    assert figures.covered_s == 5
    stats = figures.as_window_stats()
    assert (stats.request_count, stats.error_count, stats.error_rate) == (50.0, 5.0, 0.1)
    assert (stats.req_per_s, stats.window_s, stats.counter_reset) == (10.0, 5.0, False)
    assert Figures.from_dict(figures.as_dict()) == figures
    # the stable track saw nothing
    assert series.window("stable", 5, end_s=110, covered_from=0, fresh_until=0).requests == 0


def test_p99_is_histogram_quantile_over_the_window_buckets() -> None:
    series = Series(60)
    latencies = [0.003] * 90 + [0.3] * 9 + [2.0]
    for i, latency in enumerate(latencies):
        series.add(record(200 + i / 100, latency=latency), excluded=False)
    figures = series.window("canary", 10, end_s=201, covered_from=0, fresh_until=201)
    cumulative = {
        bound: float(sum(1 for v in latencies if v <= bound))
        for bound in (*LATENCY_BUCKETS, math.inf)
    }
    expected = histogram_quantile(0.99, cumulative)
    assert expected is not None
    assert figures.p99_ms == pytest.approx(expected * 1000)
    assert 250 < figures.p99_ms <= 500


def test_probe_paths_and_pinned_requests_stay_out_of_the_figures() -> None:
    series = Series(60)
    series.add(record(300.1), excluded=False)
    series.add(record(300.2, status=500, pinned=True), excluded=False)
    series.add(record(300.3, status=500, path="/healthz"), excluded=True)
    figures = series.window("canary", 1, end_s=301, covered_from=0, fresh_until=301)
    assert (figures.requests, figures.errors, figures.pinned) == (1, 0, 1)
    assert series.excluded == {("canary", "pinned"): 1, ("canary", "path"): 1}
    assert series.codes == {("canary", 200): 1}


def test_the_ring_is_bounded_and_refuses_lines_older_than_it_holds() -> None:
    series = Series(60)
    assert series.add(record(1000.0), excluded=False)
    assert series.add(record(1061.0), excluded=False)  # reuses 1000's row (61 rows)
    assert not series.add(record(1000.5), excluded=False)
    assert series.window("canary", 60, end_s=1062, covered_from=0, fresh_until=0).requests == 1
    assert len(series.rings["canary"].cells) == 61 * 20


def test_window_bounds_are_checked() -> None:
    series = Series(60)
    with pytest.raises(ValueError, match="unknown track"):
        series.window("blue", 5, end_s=0, covered_from=0, fresh_until=0)
    with pytest.raises(ValueError, match="1 to 60 seconds"):
        series.window("canary", 61, end_s=0, covered_from=0, fresh_until=0)


def test_coverage_counts_only_the_seconds_the_collector_watched() -> None:
    series = Series(60)
    figures = series.window("canary", 30, end_s=1000, covered_from=989.5, fresh_until=1000)
    assert figures.covered_s == 10


def test_stale_figures_say_since_when_nothing_was_measured() -> None:
    from swiftdeploy.collector.query import staleness

    series = Series(60)
    fresh = series.window("canary", 30, end_s=1000, covered_from=0, fresh_until=1000.5)
    assert staleness(fresh, now=1002.0) is None
    assert staleness(fresh, now=1100.0) == (
        "no measurements since 00:16:40 UTC (100 s ago): the collector is not running"
    )
    never = series.window("canary", 30, end_s=0, covered_from=0, fresh_until=0)
    assert staleness(never, now=5.0) == "no measurements yet: the collector has not read the log"
