"""What the gate calls: a window of one track, from the running collector or its journal.

`window(url, track, seconds)` asks the resident process (the freshest answer);
`window_from_journal(state_dir, track, seconds)` reads the persisted series when the
process is gone, so a gate can still say *since when* nothing was measured. Neither
decides anything: a stale `fresh_until` is for the caller (and the policy) to judge.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from swiftdeploy.collector import journal
from swiftdeploy.collector.core import Collector
from swiftdeploy.collector.series import Figures
from swiftdeploy.errors import SwiftDeployError


class CollectorUnavailable(SwiftDeployError):
    """The collector did not answer, or answered something that is not a window."""


def window(url: str, track: str, seconds: int, *, client: httpx.Client | None = None) -> Figures:
    """GET {url}/v1/window from the running collector (url: `http://127.0.0.1:PORT`)."""
    own = client is None
    http = client or httpx.Client(timeout=2.0)
    try:
        response = http.get(f"{url}/v1/window", params={"track": track, "seconds": seconds})
    except httpx.HTTPError as exc:
        raise CollectorUnavailable(f"the collector at {url} did not answer: {exc}") from exc
    finally:
        if own:
            http.close()
    if response.status_code != 200:
        raise CollectorUnavailable(
            f"the collector at {url} answered HTTP {response.status_code}: {response.text[:200]}"
        )
    try:
        return Figures.from_dict(response.json())
    except (ValueError, KeyError, TypeError) as exc:
        raise CollectorUnavailable(f"the collector at {url} answered a malformed window") from exc


def window_from_journal(
    state_dir: Path, track: str, seconds: int, *, now: float | None = None, retention_s: int = 3600
) -> Figures:
    """The same Figures from the journal on disk (read-only: a torn tail is just skipped)."""
    path = state_dir / journal.FILENAME
    loaded = journal.read(path)
    if not loaded.records:
        raise CollectorUnavailable(f"no measurements in {path}")
    collector = Collector(retention_s=retention_s)
    collector.restore(loaded.records)
    return collector.window(track, seconds, now=time.time() if now is None else now)


def fresh_until(url: str, *, client: httpx.Client | None = None) -> float:
    """GET {url}/healthz: until when the running collector has counted every request."""
    own = client is None
    http = client or httpx.Client(timeout=2.0)
    try:
        response = http.get(f"{url}/healthz")
        return float(response.json()["fresh_until"])
    except httpx.HTTPError as exc:
        raise CollectorUnavailable(f"the collector at {url} did not answer: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CollectorUnavailable(f"the collector at {url} answered a malformed health") from exc
    finally:
        if own:
            http.close()


def lag(fresh: float, *, now: float | None = None, max_lag_s: float = 5.0) -> str | None:
    """`no measurements since 12:03:04 UTC (41 s ago)` when `fresh` lags more than
    `max_lag_s` (`no measurements yet` when nothing was read); None when fresh."""
    current = time.time() if now is None else now
    if fresh <= 0:
        return "no measurements yet"
    behind = current - fresh
    if behind <= max_lag_s:
        return None
    stamp = time.strftime("%H:%M:%S", time.gmtime(fresh))
    return f"no measurements since {stamp} UTC ({behind:.0f} s ago)"


def staleness(figures: Figures, *, now: float | None = None, max_lag_s: float = 5.0) -> str | None:
    """Why these figures cannot be judged, in the words a gate reports; None when fresh.

    The collector reads the log continuously, so `fresh_until` lags real time by a poll
    interval; more than `max_lag_s` means it is dead or behind, and a gate fails closed.
    """
    reason = lag(figures.fresh_until, now=now, max_lag_s=max_lag_s)
    if reason is None:
        return None
    if figures.fresh_until <= 0:
        return f"{reason}: the collector has not read the log"
    return f"{reason}: the collector is not running"
