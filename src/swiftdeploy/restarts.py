"""When each instance was restarted by a supervisor: `.swiftdeploy/restarts.json`.

The history holds every `instance_restarted` event; this small file holds the same instants
per instance (and how many there were), so a rollout analysis (did the canary restart during
this step?) and `status` (`Restarts: stable 0, canary 2`) ask one read, not a walk of the
whole history. Written only under the project lock
(atomically); bounded to the last KEEP instants of the instances still in the state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write

FILE = "restarts.json"
KEEP = 50  # instants per instance: more than any rollout window counts


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no restart yet (or an unreadable file): nothing is counted
    return data if isinstance(data, dict) else {}


def record(state_dir: Path, instance_id: str, track: str, when: float, live: set[str]) -> None:
    """Add one restart of instance_id; forget instances that are no longer in `live`."""
    path = state_dir / FILE
    data = {key: value for key, value in _read(path).items() if key in live}
    entry = data.setdefault(instance_id, {"track": track, "times": []})
    previous = entry.get("times", [])
    # Times are bounded; the count is not (files from before it existed: their times).
    entry["count"] = _whole(entry.get("count"), len(previous)) + 1
    entry["times"] = [*previous, when][-KEEP:]
    atomic_write(path, json.dumps(data, sort_keys=True) + "\n", mode=0o600)


def count(state_dir: Path, instance_id: str) -> int:
    """How many times instance_id was restarted since it started (0: never, or unknown)."""
    entry = _read(state_dir / FILE).get(instance_id)
    if not isinstance(entry, dict):
        return 0
    return _whole(entry.get("count"), len(_times(entry)))


def _whole(value: object, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )


def times(state_dir: Path, instance_id: str) -> list[float]:
    entry = _read(state_dir / FILE).get(instance_id)
    return _times(entry) if isinstance(entry, dict) else []


def _times(entry: dict[str, Any]) -> list[float]:
    found = entry.get("times", [])
    return (
        [float(t) for t in found if isinstance(t, int | float)] if isinstance(found, list) else []
    )


def count_since(state_dir: Path, instance_id: str, since: float) -> int:
    """How many times instance_id was restarted at or after `since` (epoch seconds)."""
    return sum(1 for when in times(state_dir, instance_id) if when >= since)
