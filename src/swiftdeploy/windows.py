"""The figures every gate judges: the last window of each track, from one source.

`analysis.source` names it: `proxy` (the default) reads the data-plane collector — every
request as nginx saw it, so any service is measured and the window that just passed is
judged at once; `prometheus` asks the operator's Prometheus for the same series by PromQL;
`app` scrapes each instance's own /metrics at the start and end of a window (the demo's
metric names). `promote stable`, its dry run and each rollout analysis ask here, so they
ask identical questions; a source that cannot answer fails closed (MetricsUnavailable).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from swiftdeploy.clock import epoch
from swiftdeploy.collector import promql, query
from swiftdeploy.collector import supervise as collector_process
from swiftdeploy.collector.series import Figures
from swiftdeploy.errors import MetricsUnavailable
from swiftdeploy.observe import (
    Progress,
    figures,
    figures_from_cache,
    live_tracks,
    measure_tracks,
    wait_until,
)
from swiftdeploy.state import DeploymentState, InstanceRecord

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment


def collector_dir(deployment: Deployment) -> Path:
    """The collector's journal, pid and port files."""
    return deployment.project.state_dir / "collector"


def start_collector(deployment: Deployment) -> str | None:
    """Start (or adopt) the collector beside nginx; what was started, for `deploy`'s output."""
    project = deployment.project
    project.ensure_state_dir()
    found = collector_process.ensure_running(
        collector_dir(deployment),
        deployment.runtime.request_log(),
        process_log=project.logs_dir / "collector.log",
        excluded_paths=tuple(deployment.manifest.analysis.exclude_paths),
    )
    return f"collector (pid {found.pid})" if found.started else None


def stop_collector(deployment: Deployment) -> list[str]:
    state_dir = collector_dir(deployment)
    found = collector_process.locate(state_dir)
    return [f"collector (pid {found.pid})"] if collector_process.stop(state_dir) else []


class CollectorHealth(NamedTuple):
    pid: int | None  # None: not running
    reason: str  # why a gate cannot judge its figures now; "" while they are fresh


def collector_health(deployment: Deployment) -> CollectorHealth:
    """Whether the collector runs and keeps up, for `status`.

    Not running: the gates' own sentence (`no measurements since 12:03:04 UTC (41 s ago):
    the collector is not running`). Running but behind: how far (`no measurements since …`).
    """
    state_dir = collector_dir(deployment)
    running = collector_process.locate(state_dir)
    if running.url is None:
        return CollectorHealth(None, _dead(state_dir, 1))
    try:
        behind = query.lag(query.fresh_until(running.url))
    except query.CollectorUnavailable as exc:
        return CollectorHealth(running.pid, exc.message)
    return CollectorHealth(running.pid, behind or "")


def judge_window(
    deployment: Deployment,
    state: DeploymentState,
    window_s: float,
    *,
    since: float | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    evidence: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each live track's last `window_s` seconds, as policy figures (`evidence` receives
    what they were computed from: raw counters, or each track's window as measured).

    The proxy and prometheus sources judge the past: they wait only for the part of the
    window the collector has not covered yet, or that lies before `since` (when the canary
    started, or a rollout step shifted traffic; default: the later of the canary's start
    and its last weight change).
    """
    chosen = deployment.manifest.analysis.source
    if chosen == "app":
        return _from_instances(deployment, state, window_s, progress, sleep, evidence)
    seconds = max(1, math.ceil(window_s))
    begun = since if since is not None else canary_since(state)
    found = _windows(deployment, state, seconds, chosen)
    remainder = max(
        seconds - min((f.covered_s for f in found.values()), default=seconds),
        math.ceil(seconds - (time.time() - begun)) if begun is not None else 0,
    )
    if remainder > 0:
        deployment.reporter.step(
            f"Waiting {remainder}s: {seconds - remainder}s of the {seconds}s window are measured"
        )
        clock = time.monotonic
        wait_until(clock(), remainder, progress=progress, clock=clock, sleep=sleep)
        found = _windows(deployment, state, seconds, chosen)
    if evidence is not None:
        evidence.update({name: window.as_dict() for name, window in found.items()})
    return {name: figures(window.as_window_stats()) for name, window in found.items()}


def canary_since(state: DeploymentState) -> float | None:
    """Since when the canary has served its current share: its start, or the last weight
    change (a container can take seconds from its start to its first routed request)."""
    canary = state.canary_instance()
    if canary is None:
        return None
    instants = [epoch(canary.started_at), epoch(state.canary_weight_since or "")]
    return max((instant for instant in instants if instant is not None), default=None)


def current(
    deployment: Deployment, state: DeploymentState, window_s: float
) -> dict[str, Figures] | str:
    """Each live track's last window as it stands (no waiting), or why there is none."""
    try:
        return _windows(
            deployment, state, max(1, math.ceil(window_s)), deployment.manifest.analysis.source
        )
    except MetricsUnavailable as exc:
        return exc.message


def _from_instances(
    deployment: Deployment,
    state: DeploymentState,
    window_s: float,
    progress: Progress | None,
    sleep: Callable[[float], None],
    evidence: dict[str, Any] | None,
) -> dict[str, dict[str, Any]]:
    from swiftdeploy.scrape_cache import ScrapeCache

    cache = ScrapeCache(deployment.project.state_dir / "scrapes.json")
    cached = figures_from_cache(deployment.runtime, state, cache, window_s) if window_s else None
    if cached is not None and progress is None:
        deployment.reporter.step(f"Judging the canary's last {window_s:g}s from status samples")
        return cached
    deployment.reporter.step(f"Measuring the canary over a {window_s:g}s window")
    return measure_tracks(
        deployment.runtime, state, window_s, progress=progress, sleep=sleep, evidence=evidence
    )


def _windows(
    deployment: Deployment, state: DeploymentState, seconds: int, chosen: str
) -> dict[str, Figures]:
    """One Figures per live track, or MetricsUnavailable with the reason a gate reports."""
    state_dir = collector_dir(deployment)
    try:
        if chosen == "prometheus":
            url = deployment.manifest.analysis.prometheus_url or ""
            found = {name: promql.window(url, name, seconds) for name in live_tracks(state)}
        else:
            running = collector_process.locate(state_dir)
            if running.url is None:
                raise MetricsUnavailable(_dead(state_dir, seconds))
            found = {name: query.window(running.url, name, seconds) for name in live_tracks(state)}
    except query.CollectorUnavailable as exc:
        raise MetricsUnavailable(exc.message) from exc
    for window in found.values():
        reason = query.staleness(window)
        if reason is not None:
            raise MetricsUnavailable(reason)
    return found


def _dead(state_dir: Path, seconds: int) -> str:
    """Why there are no figures: since when nothing was measured, from the journal."""
    try:
        last = query.window_from_journal(state_dir, "stable", seconds)
    except query.CollectorUnavailable:
        return "no measurements: the collector is not running (`swiftdeploy deploy` starts it)"
    return query.staleness(last, max_lag_s=0.0) or "the collector is not running"


def measure_promotion(
    deployment: Deployment,
    state: DeploymentState,
    canary: InstanceRecord,
    window_s: float | None,
) -> dict[str, Any]:
    """Both tracks over the window: the canary policy's input for `promote stable`."""
    from swiftdeploy.policy.facts import promotion_input

    window = window_s if window_s is not None else deployment.manifest.canary.window_s
    chosen = deployment.manifest.analysis.source
    if chosen == "prometheus":
        url = deployment.manifest.analysis.prometheus_url
        deployment.reporter.step(f"Judging the canary's last {window:g}s by PromQL from {url}")
    elif chosen == "proxy":
        deployment.reporter.step(f"Judging the canary's last {window:g}s as nginx served it")
    return promotion_input(canary.version, judge_window(deployment, state, window))
