from __future__ import annotations

import math
from pathlib import Path

from swiftdeploy.metrics import Scrape
from swiftdeploy.scrape_cache import KEEP_PER_INSTANCE, ScrapeCache, from_json, to_json


def scrape(n: float) -> Scrape:
    return Scrape(
        requests={("GET", "/", "200"): n, ("GET", "/", "500"): 1.0},
        buckets={0.005: n, 0.5: n + 1, math.inf: n + 1},
        gauges={"app_mode": 1.0},
        uptime_s=12.5,
        mode="canary",
        chaos="none",
        version="2.0.0",
    )


def test_a_scrape_survives_the_json_round_trip() -> None:
    assert from_json(to_json(scrape(7))) == scrape(7)


def test_about_picks_the_scrape_closest_to_the_window_and_never_a_younger_one(
    tmp_path: Path,
) -> None:
    cache = ScrapeCache(tmp_path / "scrapes.json")
    for taken_at in (100.0, 105.0, 110.0, 115.0):
        cache.record({"c": scrape(taken_at)}, taken_at, live={"c"})
    hit = cache.about("c", age=10, now=121.0, slack=5)
    assert hit is not None
    assert hit.taken_at == 110.0  # 11 s old: covers the 10 s window, the closest that does
    assert cache.about("c", age=30, now=121.0, slack=5) is None  # none old enough
    assert cache.about("other", age=10, now=121.0, slack=5) is None


def test_gone_instances_are_forgotten_and_history_is_bounded(tmp_path: Path) -> None:
    cache = ScrapeCache(tmp_path / "scrapes.json")
    cache.record({"old": scrape(1)}, 1.0, live={"old"})
    for i in range(KEEP_PER_INSTANCE + 5):
        cache.record({"new": scrape(i)}, float(i), live={"new"})
    assert cache.about("old", age=0, now=1.0, slack=1e9) is None
    assert cache.about("new", age=0, now=1e6, slack=1e9) is not None
    assert cache.about("new", age=0, now=4.0, slack=0.5) is None  # entry 4 was dropped
