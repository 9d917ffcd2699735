"""Look at the running tracks: scrape each instance's own /metrics, per track, over a window.

Scraping instances directly (not through nginx) keeps stable and canary apart, so
the canary is judged on its own traffic and compared with the stable baseline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from swiftdeploy.errors import MetricsUnavailable
from swiftdeploy.metrics import Scrape, WindowStats, scrape, window
from swiftdeploy.runtime.base import Runtime
from swiftdeploy.scrape_cache import ScrapeCache
from swiftdeploy.state import DeploymentState, InstanceRecord

Progress = Callable[[float, float], None]


def scrape_instance(runtime: Runtime, instance: InstanceRecord) -> Scrape:
    with runtime.client(instance, timeout=5.0) as client:
        return scrape(client, "/metrics")


def live_tracks(state: DeploymentState) -> dict[str, InstanceRecord]:
    tracks: dict[str, InstanceRecord] = {}
    stable, canary = state.stable_instance(), state.canary_instance()
    if stable is not None:
        tracks["stable"] = stable
    if canary is not None:
        tracks["canary"] = canary
    return tracks


def figures(stats: WindowStats) -> dict[str, Any]:
    """The window as policy input: the names the Rego policies read."""
    return {
        "error_rate": round(stats.error_rate, 6),
        "p99_ms": round(stats.p99_ms, 3) if stats.p99_ms is not None else None,
        "request_count": int(stats.request_count),
        "window_s": round(stats.window_s, 3),
        "req_per_s": round(stats.req_per_s, 3),
        "counter_reset": stats.counter_reset,
    }


def measure_tracks(
    runtime: Runtime,
    state: DeploymentState,
    window_s: float,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    evidence: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Scrape every track at the start and the end of the window; raise if one is unreadable.

    When `evidence` is given, the raw counters of both scrapes go into it, so a failed
    analysis can keep what it was judged on.
    """
    tracks = live_tracks(state)
    started = clock()
    before = {name: scrape_instance(runtime, inst) for name, inst in tracks.items()}
    wait_until(started, window_s, progress=progress, clock=clock, sleep=sleep)
    after = {name: scrape_instance(runtime, inst) for name, inst in tracks.items()}
    elapsed = max(clock() - started, 1e-3)
    result: dict[str, dict[str, Any]] = {}
    for name in tracks:
        result[name] = figures(window(before[name], after[name], elapsed))
        if evidence is not None:
            evidence[name] = {"before": summary(before[name]), "after": summary(after[name])}
    return result


def wait_until(
    started: float,
    seconds: float,
    *,
    progress: Progress | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Sleep until `seconds` after `started`, in steps of at most 1 s, reporting progress."""
    deadline = started + seconds
    while (now := clock()) < deadline:
        if progress is not None:
            progress(now - started, seconds)
        sleep(min(1.0, deadline - now))


def figures_from_cache(
    runtime: Runtime,
    state: DeploymentState,
    cache: ScrapeCache,
    window_s: float,
    *,
    wall: Callable[[], float] = time.time,
) -> dict[str, dict[str, Any]] | None:
    """The window judged from a scrape `status` took window_s ago and one taken now.

    None unless every live track has such a scrape (then the caller measures instead).
    """
    tracks = live_tracks(state)
    now = wall()
    slack = max(5.0, window_s / 2)
    found = {
        name: cache.about(inst.id, age=window_s, now=now, slack=slack)
        for name, inst in tracks.items()
    }
    pairs = [(name, inst, hit) for name, inst in tracks.items() if (hit := found[name]) is not None]
    if not tracks or len(pairs) != len(tracks):
        return None
    result: dict[str, dict[str, Any]] = {}
    for name, inst, hit in pairs:
        after = scrape_instance(runtime, inst)
        result[name] = figures(window(hit.scrape, after, max(wall() - hit.taken_at, 1e-3)))
    return result


def summary(scraped: Scrape) -> dict[str, Any]:
    """A scrape's counters as plain JSON: requests by method/path/status and the buckets."""
    return {
        "requests": {" ".join(key): value for key, value in sorted(scraped.requests.items())},
        "buckets": {
            ("+Inf" if le == float("inf") else repr(le)): n
            for le, n in sorted(scraped.buckets.items())
        },
        "uptime_s": scraped.uptime_s,
        "chaos": scraped.chaos,
    }


def try_scrape(runtime: Runtime, instance: InstanceRecord) -> Scrape | str:
    """A scrape, or the reason it failed (the dashboard shows it instead of crashing)."""
    try:
        return scrape_instance(runtime, instance)
    except MetricsUnavailable as exc:
        return exc.message
