"""One dashboard sample: per-track figures over the last interval and per-rule policy compliance.

The dashboard never crashes on a missing part: an instance or the policy engine that
does not answer is shown as UNAVAILABLE with the reason. Every sample is appended
to the history as a `status_sample` event with the seeds' fields.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from swiftdeploy import restarts, windows
from swiftdeploy.clock import iso_utc
from swiftdeploy.collector.series import Figures
from swiftdeploy.desired import describe
from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.lifecycle import Deployment
from swiftdeploy.metrics import Scrape, WindowStats, window
from swiftdeploy.observe import figures, live_tracks, try_scrape
from swiftdeploy.rollout import load_rollout
from swiftdeploy.scrape_cache import ScrapeCache
from swiftdeploy.state import InstanceRecord
from swiftdeploy.status_view import (
    CollectorSample,
    DashboardSample,
    RuleResult,
    TrackSample,
    to_history_record,
)

Clock = Callable[[], float]


@dataclass
class Sampler:
    """Keeps the previous scrape of each instance so each sample covers one interval."""

    deployment: Deployment
    clock: Clock = time.monotonic
    previous: dict[str, tuple[float, Scrape]] = field(default_factory=dict)
    recent_p99: list[float] = field(default_factory=list)
    recent_errors: list[float] = field(default_factory=list)

    @property
    def cache(self) -> ScrapeCache:
        return ScrapeCache(self.deployment.project.state_dir / "scrapes.json")

    def prime(self) -> None:
        """Take the first scrape so the next sample has a window to compare with."""
        state = self.deployment.runtime.load()
        fresh: dict[str, Scrape] = {}
        for instance in live_tracks(state).values():
            scraped = try_scrape(self.deployment.runtime, instance)
            if isinstance(scraped, Scrape):
                self.previous[instance.id] = (self.clock(), scraped)
                fresh[instance.id] = scraped
        if fresh:
            self.cache.record(fresh, time.time(), live=set(state.instances))

    def sample(self) -> DashboardSample:
        runtime = self.deployment.runtime
        state = runtime.load()
        tracks: list[TrackSample] = []
        canary_figures: dict[str, Any] | None = None
        stable_figures: dict[str, Any] | None = None
        fresh: dict[str, Scrape] = {}
        # The data plane's view of each track (analysis.source proxy/prometheus): the same
        # window of the same series the gates judge; the service's /metrics, when it has
        # one, only adds its uptime and chaos state.
        measured = (
            windows.current(self.deployment, state, self.deployment.manifest.canary.window_s)
            if self.deployment.manifest.analysis.source != "app"
            else None
        )
        counts_restarts = runtime.records_restarts
        for name, instance in live_tracks(state).items():
            now = self.clock()
            scraped = try_scrape(runtime, instance)
            if measured is not None:
                stats = _measured(measured, name)
            else:
                stats = self._since_last_scrape(instance, scraped, now, fresh)
            restarted = (
                restarts.count(self.deployment.project.state_dir, instance.id)
                if counts_restarts
                else None
            )
            if isinstance(stats, str):
                tracks.append(_unavailable(name, instance, stats, restarted))
                continue
            track_figures = figures(stats)
            if name == "canary":
                canary_figures = track_figures
            else:
                stable_figures = track_figures
            tracks.append(_track(name, instance, stats, scraped, restarted))
        if fresh:
            self.cache.record(fresh, time.time(), live=set(state.instances))
        judged = canary_figures or stable_figures
        if judged is not None:
            self.recent_p99 = [*self.recent_p99, judged["p99_ms"] or 0.0][-30:]
            self.recent_errors = [*self.recent_errors, judged["error_rate"]][-30:]
        policy = self._policy(canary_figures, stable_figures)
        # No nginx master means no data plane, whatever instances still run behind it.
        plane_down = self.deployment.runtime.data_plane_down(state)
        mode = state.mode if state.stable and not plane_down else "down"
        rollout = load_rollout(self.deployment)
        return DashboardSample(
            ts=iso_utc(),
            mode=mode,
            tracks=tracks,
            policy=policy,
            recent_p99=list(self.recent_p99),
            recent_error_rate=list(self.recent_errors),
            rollout=rollout.describe() if rollout and not rollout.finished else "",
            collector=_collector(self.deployment) if state.instances else None,
        )

    def _since_last_scrape(
        self, instance: InstanceRecord, scraped: Scrape | str, now: float, fresh: dict[str, Scrape]
    ) -> WindowStats | str:
        """The `app` source: this instance's counters since the previous sample's scrape."""
        if isinstance(scraped, str):
            self.previous.pop(instance.id, None)
            return scraped
        fresh[instance.id] = scraped
        before = self.previous.get(instance.id)
        self.previous[instance.id] = (now, scraped)
        if before is None:
            return "first scrape; waiting for a window"
        return window(before[1], scraped, max(now - before[0], 1e-3))

    def _policy(
        self, canary: dict[str, Any] | None, stable: dict[str, Any] | None
    ) -> list[RuleResult]:
        from swiftdeploy.policy import engine_for
        from swiftdeploy.policy.facts import infra_facts, promotion_input

        deployment = self.deployment
        questions: dict[str, dict[str, Any]] = {"infra": infra_facts(deployment.project.root)}
        if canary is not None:
            questions["canary"] = promotion_input(
                None, {"canary": canary, **({"stable": stable} if stable is not None else {})}
            )
        results: list[RuleResult] = []
        try:
            engine = engine_for(deployment.manifest.policy, deployment.project.policies_dir)
        except PolicyUnavailable as exc:
            return [RuleResult(domain, "-", "UNAVAILABLE", exc.message) for domain in questions]
        for domain, policy_input in questions.items():
            try:
                decision = engine.evaluate(domain, policy_input)
            except PolicyUnavailable as exc:
                results.append(RuleResult(domain, "-", "UNAVAILABLE", exc.message))
                continue
            for rule, check in decision.checks.items():
                results.append(
                    RuleResult(domain, rule, "PASS" if check.passed else "FAIL", check.detail)
                )
        return results


def samples(
    deployment: Deployment,
    interval: float,
    *,
    limit: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[DashboardSample]:
    """The `status` verb: one sample per interval (up to limit), each recorded in the history.

    The caller only draws them; stopping the iteration (Ctrl+C) stops sampling.
    """
    sampler = Sampler(deployment)
    sampler.prime()
    taken = 0
    while limit is None or taken < limit:
        sleep(interval)
        sample = sampler.sample()
        record(deployment, sample)
        taken += 1
        yield sample


def record(deployment: Deployment, sample: DashboardSample) -> None:
    deployment.history.append("status_sample", to_history_record(sample))


def _collector(deployment: Deployment) -> CollectorSample:
    health = windows.collector_health(deployment)
    return CollectorSample(running=health.pid is not None, pid=health.pid, reason=health.reason)


def _measured(measured: dict[str, Figures] | str, track: str) -> WindowStats | str:
    if isinstance(measured, str):
        return measured
    found = measured.get(track)
    return found.as_window_stats() if found is not None else "not measured yet"


def _track(
    name: str,
    instance: InstanceRecord,
    stats: WindowStats,
    scraped: Scrape | str,
    restarted: int | None,
) -> TrackSample:
    own = scraped if isinstance(scraped, Scrape) else None
    return TrackSample(
        track=name,
        version=instance.version,
        req_per_s=stats.req_per_s,
        p99_ms=stats.p99_ms,
        error_rate=stats.error_rate,
        uptime_s=own.uptime_s if own else None,
        chaos=(own.chaos or "none") if own else "unknown",
        available=True,
        reason="",
        artifact=describe(instance),
        restarts=restarted,
    )


def _unavailable(
    track: str, instance: InstanceRecord, reason: str, restarted: int | None
) -> TrackSample:
    return TrackSample(
        track=track,
        version=instance.version,
        req_per_s=None,
        p99_ms=None,
        error_rate=None,
        uptime_s=None,
        chaos="unknown",
        available=False,
        reason=reason,
        artifact=describe(instance),
        restarts=restarted,
    )
