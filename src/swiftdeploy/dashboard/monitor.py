"""The monitor: one sampler per dashboard process, however many viewers are connected.

Every tick it scrapes each live instance (recording the scrape in the cache `status`
keeps, which is what `promote stable` judges), reads the rollout, the recent history and
now and then the host facts, and builds every panel. Viewers get the same serialised
snapshot, so a viewer costs one send per tick, not one sampling.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swiftdeploy.dashboard import actions, panels
from swiftdeploy.dashboard.history_tail import HistoryTail
from swiftdeploy.errors import SwiftDeployError

log = logging.getLogger("swiftdeploy.dashboard")

PANELS = ("overview", "tracks", "rollout", "decisions", "history", "host")
HOST_EVERY_S = 10.0
VERIFY_EVERY_S = 5.0
VERIFY_SHARE = 0.05  # re-verify no more often than 20 x the last verification took


@dataclass
class Monitor:
    manifest_path: Path
    read_only: bool
    clock: Callable[[], float] = time.time
    snapshot: dict[str, Any] = field(default_factory=dict)
    encoded: str = "{}"
    version: int = 0
    viewers: int = 0
    _tail: HistoryTail | None = None
    _host: dict[str, Any] | None = None
    _host_at: float = 0.0
    _verify: dict[str, Any] | None = None
    _verify_at: float = 0.0
    _verify_head: int = -1
    _verify_cost: float = 0.0

    def tick(self) -> dict[str, Any]:
        """Sample once and rebuild every panel; an unreadable deployment becomes `error`."""
        now = self.clock()
        try:
            snapshot = self._sample(now)
        except SwiftDeployError as exc:
            snapshot = self._stopped(now, exc.message)
        except (OSError, ValueError) as exc:
            # A state or rollout file that does not parse (pydantic's errors are ValueErrors):
            # the page says so instead of failing, and recovers once the file is sound again.
            snapshot = self._stopped(now, f"cannot read the deployment's state: {exc}")
        self.snapshot = snapshot
        self.encoded = json.dumps(snapshot, sort_keys=True, allow_nan=False, default=str)
        self.version += 1
        return snapshot

    def panel(self, name: str) -> dict[str, Any]:
        if not self.snapshot:
            self.tick()
        found: dict[str, Any] = self.snapshot[name]
        if name == "overview":
            found = {**found, "viewers": self.viewers}
        return found

    # -- sampling --------------------------------------------------------------------------

    def _sample(self, now: float) -> dict[str, Any]:
        deployment = actions.open_deployment(self.manifest_path)
        manifest = deployment.manifest
        state = actions.load_state(deployment)
        running = state.stable_instance() is not None
        rollout = actions.load_rollout(deployment)
        spec = actions.rollout_spec(deployment)
        rollout_panel = panels.rollout_panel(rollout, spec, now)
        window_s = spec["interval_s"] if rollout_panel["active"] else float(spec["window_s"])
        tracks = self._tracks(deployment, state, now, window_s) if running else []
        events = self._events(deployment)
        return {
            "overview": {
                "running": running,
                "service": manifest.services.name,
                "mode": state.mode if running else "down",
                "runtime": deployment.runtime.name,
                "nginx_port": manifest.nginx.port,
                "controls": not self.read_only,
                "sampled_at": now,
                "error": "",
            },
            "tracks": {"tracks": tracks, "window_s": window_s},
            "rollout": rollout_panel,
            "decisions": panels.decisions_panel(events),
            "history": panels.timeline_panel(events, self._verified(deployment, now)),
            "host": self._host_facts(deployment, now),
        }

    def _tracks(self, deployment: Any, state: Any, now: float, window_s: float) -> list[Any]:
        pairs = (("stable", state.stable_instance()), ("canary", state.canary_instance()))
        live = {name: inst for name, inst in pairs if inst is not None}
        fresh = {}
        latest: dict[str, Any] = {}
        for inst in live.values():
            scraped = actions.scrape(deployment, inst)
            latest[inst.id] = scraped
            if not isinstance(scraped, str):
                fresh[inst.id] = scraped
        if fresh:
            actions.record_scrapes(deployment, fresh, now, set(state.instances))
        cache = actions.cached_scrapes(deployment)
        weights = panels.track_weights(state.model_dump())
        found = []
        for name, inst in live.items():
            healthy, detail = actions.health(deployment, inst)
            entries = cache.get(inst.id, [])
            scraped = latest[inst.id]
            found.append(
                {
                    "track": name,
                    "instance": inst.id,
                    "version": inst.version,
                    "weight": weights[name],
                    "healthy": healthy,
                    "health": detail,
                    "chaos": scraped.chaos or "none" if not isinstance(scraped, str) else "unknown",
                    "scrape_error": scraped if isinstance(scraped, str) else "",
                    "window": panels.over_window(entries, window_s, actions.window_figures),
                    "series": panels.series(entries, actions.window_figures),
                }
            )
        return found

    def _events(self, deployment: Any) -> list[dict[str, Any]]:
        path = actions.history_path(deployment)
        if self._tail is None or self._tail.path != path:
            self._tail = HistoryTail(path)
        return self._tail.refresh()

    def _verified(self, deployment: Any, now: float) -> dict[str, Any] | None:
        head = deployment.history.head()
        seq = head[0] if head else -1
        wait = max(VERIFY_EVERY_S, self._verify_cost / VERIFY_SHARE)
        if self._verify is None or (seq != self._verify_head and now - self._verify_at >= wait):
            started = time.perf_counter()
            self._verify = {**actions.verify_history(deployment), "checked_at": now}
            self._verify_cost = time.perf_counter() - started
            self._verify_at, self._verify_head = now, seq
        return self._verify

    def _host_facts(self, deployment: Any, now: float) -> dict[str, Any]:
        if self._host is None or now - self._host_at >= HOST_EVERY_S:
            self._host = {**actions.host_check(deployment), "checked_at": now}
            self._host_at = now
        return self._host

    def _stopped(self, now: float, message: str) -> dict[str, Any]:
        return {
            "overview": {
                "running": False,
                "service": "",
                "mode": "down",
                "runtime": "",
                "nginx_port": None,
                "controls": not self.read_only,
                "sampled_at": now,
                "error": message,
            },
            "tracks": {"tracks": [], "window_s": None},
            "rollout": {"active": False, "rollout": None},
            "decisions": {"decisions": []},
            "history": {"events": [], "verify": None},
            "host": {"facts": {}, "allow": None, "checks": [], "unavailable": message},
        }
