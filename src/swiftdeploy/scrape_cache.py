"""Recent scrapes kept by `status`, so the canary gate can judge a window that already passed.

`status` scrapes every instance each interval. Keeping the last few raw scrapes (not only
the seed-format figures in the history, which cannot be merged into a P99) lets
`promote stable` compare one taken about `--window` seconds ago with one taken now, and
answer at once instead of waiting out the window. Timestamps are wall-clock, since the
scrapes come from another process.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write
from swiftdeploy.metrics import Scrape

KEEP_PER_INSTANCE = 60


def to_json(scraped: Scrape) -> dict[str, Any]:
    return {
        "requests": [[*key, value] for key, value in scraped.requests.items()],
        "buckets": [["+Inf" if math.isinf(le) else le, n] for le, n in scraped.buckets.items()],
        "gauges": dict(scraped.gauges),
        "uptime_s": scraped.uptime_s,
        "mode": scraped.mode,
        "chaos": scraped.chaos,
        "version": scraped.version,
    }


def from_json(raw: dict[str, Any]) -> Scrape:
    return Scrape(
        requests={(m, p, s): float(v) for m, p, s, v in raw["requests"]},
        buckets={(math.inf if le == "+Inf" else float(le)): float(n) for le, n in raw["buckets"]},
        gauges={str(k): float(v) for k, v in raw["gauges"].items()},
        uptime_s=raw["uptime_s"],
        mode=raw["mode"],
        chaos=raw["chaos"],
        version=raw["version"],
    )


@dataclass(frozen=True)
class Cached:
    taken_at: float
    scrape: Scrape


class ScrapeCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, list[list[Any]]]:
        try:
            loaded: dict[str, list[list[Any]]] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return loaded

    def record(self, scrapes: dict[str, Scrape], taken_at: float, *, live: set[str]) -> None:
        """Add this round's scrapes (instance id → scrape); forget instances gone since."""
        cache = {iid: entries for iid, entries in self._load().items() if iid in live}
        for instance_id, scraped in scrapes.items():
            entries = cache.setdefault(instance_id, [])
            entries.append([taken_at, to_json(scraped)])
            del entries[:-KEEP_PER_INSTANCE]
        atomic_write(self.path, json.dumps(cache) + "\n", mode=0o600)

    def about(self, instance_id: str, *, age: float, now: float, slack: float) -> Cached | None:
        """The scrape taken closest to `age` seconds ago, within [age, age + slack]."""
        best: Cached | None = None
        for taken_at, raw in self._load().get(instance_id, []):
            elapsed = now - float(taken_at)
            if age <= elapsed <= age + slack and (best is None or elapsed < now - best.taken_at):
                best = Cached(float(taken_at), from_json(raw))
        return best
