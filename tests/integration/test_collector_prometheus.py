"""A real Prometheus scrapes the collector: PromQL and the collector's own window agree.

Tolerance: Prometheus extrapolates `rate()` to the edges of its range from samples taken
every second, the collector counts whole seconds, so request rates agree within 15 % and
error rates within 0.05; P99 lands in the same histogram bucket and within 15 % (both
interpolate linearly inside it).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from collector_support import Rig, prometheus, rig
from swiftdeploy.collector import promql, query
from swiftdeploy.collector.nginx import mark_slots

pytestmark = pytest.mark.integration

WINDOW = 10


def steady_load(r: Rig, stop: threading.Event) -> None:
    """About 100 req/s: 1 in 10 fails (500), 1 in 25 is slow (0.3 s)."""
    paths = ["/fail" if i % 10 == 0 else "/slow" if i % 25 == 1 else "/ok" for i in range(50)]
    with httpx.Client(base_url=r.url, timeout=10) as client:
        i = 0
        while not stop.is_set():
            client.get(paths[i % len(paths)])
            i += 1
            time.sleep(0.005)


def test_promql_over_the_scrapes_agrees_with_the_collector_window(
    tmp_path: Path, nginx_bin: str, prometheus_bin: str
) -> None:
    with rig(tmp_path, nginx_bin) as r:
        r.start_collector()
        mark_slots(r.route_dir, 10)
        with prometheus(tmp_path, prometheus_bin, f"127.0.0.1:{r.collector_port}") as prom:
            stop = threading.Event()
            loaders = [threading.Thread(target=steady_load, args=(r, stop)) for _ in range(3)]
            for thread in loaders:
                thread.start()
            try:
                time.sleep(WINDOW + 8)  # a full window of scrapes
                at = float(int(time.time()) - 1)
                theirs = promql.window(prom, "canary", WINDOW, at=at)
                time.sleep(1.5)  # the collector's second `at` is complete
            finally:
                stop.set()
                for thread in loaders:
                    thread.join()
        # The collector's window ending at `at`, as its journal holds it.
        ours = query.window_from_journal(r.state_dir, "canary", WINDOW, now=at)
        assert ours.requests > 200
        assert theirs.req_per_s == pytest.approx(ours.req_per_s, rel=0.15)
        assert theirs.requests == pytest.approx(ours.requests, rel=0.15)
        assert theirs.error_rate == pytest.approx(ours.error_rate, abs=0.05)
        assert theirs.by_class.keys() == ours.by_class.keys()
        assert 0.05 < ours.error_rate < 0.2
        assert ours.p99_ms is not None
        assert 250 < ours.p99_ms <= 500  # the slow requests' bucket
        assert theirs.p99_ms is not None
        assert theirs.p99_ms == pytest.approx(ours.p99_ms, rel=0.15)
        # The collector was scraped for the whole window and read its log moments ago.
        assert theirs.covered_s == WINDOW
        assert at - 5 < theirs.fresh_until <= at + 1
        assert query.staleness(theirs, now=at) is None
