"""Pure functions that shape what the monitor gathered into one JSON document per panel.

No I/O here: the monitor passes in the state, scrapes, rollout and history events it read,
and the clock; tests feed captured values directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from swiftdeploy.clock import epoch
from swiftdeploy.metrics import Scrape

WindowFn = Callable[[Scrape, Scrape, float], dict[str, Any]]
SERIES_POINTS = 60
DECISION_TYPES = frozenset({"policy_decision", "policy_unavailable", "policy_override"})
TIMELINE_SKIP = frozenset({"status_sample"})
# Never shown: which engine answered and where it runs are not the page's business.
HIDDEN_DECISION_KEYS = frozenset({"engine", "policy_digest", "prev", "hash"})


def series(entries: Sequence[tuple[float, Scrape]], window_fn: WindowFn) -> list[dict[str, Any]]:
    """One point per pair of consecutive cached scrapes: the windows `status` and the gate see."""
    points: list[dict[str, Any]] = []
    for (t0, before), (t1, after) in itertools.pairwise(entries):
        if t1 <= t0:
            continue
        fig = window_fn(before, after, t1 - t0)
        points.append(
            {
                "t": round(t1, 3),
                "req_per_s": fig["req_per_s"],
                "error_rate": fig["error_rate"],
                "p99_ms": fig["p99_ms"],
            }
        )
    return points[-SERIES_POINTS:]


def over_window(
    entries: Sequence[tuple[float, Scrape]], window_s: float, window_fn: WindowFn
) -> dict[str, Any] | None:
    """The figures from the scrape about window_s before the newest one, to the newest."""
    if len(entries) < 2:
        return None
    newest_t, newest = entries[-1]
    start_t, start = entries[0]
    for taken_at, scraped in entries[:-1]:
        if newest_t - taken_at >= window_s:
            start_t, start = taken_at, scraped
    return window_fn(start, newest, newest_t - start_t)


def track_weights(state: dict[str, Any]) -> dict[str, int]:
    canary_weight = int(state.get("canary_weight") or 0) if state.get("canary") else 0
    return {"stable": 100 - canary_weight, "canary": canary_weight}


def rollout_panel(
    rollout: dict[str, Any] | None, spec: dict[str, Any], now: float
) -> dict[str, Any]:
    """Steps with their verdicts, the current step, time to the next analysis, failed checks."""
    if rollout is None:
        return {"active": False, "rollout": None}
    current = int(rollout["step"])
    phase = str(rollout["phase"])
    finished = phase in {"promoted", "rolled_back", "aborted"}
    analyses = list(rollout.get("analyses") or [])
    steps: list[dict[str, Any]] = []
    for index, weight in enumerate(rollout["steps"]):
        here = [a for a in analyses if a.get("step") == index]
        if index < current or (phase == "promoted" and index == current):
            status = "passed"
        elif index == current and not finished:
            status = "current"
        elif index == current:
            status = phase
        else:
            status = "pending"
        steps.append({"index": index, "weight": weight, "status": status, "analyses": here})
    next_in: float | None = None
    if not finished and phase != "paused":
        base = float(rollout.get("step_started") or 0.0)
        for analysis in analyses:
            if analysis.get("step") == current and (ts := epoch(analysis.get("ts", ""))):
                base = max(base, ts)
        next_in = round(max(0.0, base + float(spec["interval_s"]) - now), 1)
    return {
        "active": not finished,
        "rollout": {
            "version": rollout["version"],
            "phase": phase,
            "step": current,
            "step_count": len(rollout["steps"]),
            "weight": rollout.get("weight_override")
            if rollout.get("weight_override") is not None
            else rollout["steps"][current],
            "failed_checks": rollout.get("failed_checks", 0),
            "max_failed_checks": spec["max_failed_checks"],
            "interval_s": spec["interval_s"],
            "progress_deadline_s": spec["progress_deadline_s"],
            "next_analysis_in_s": next_in,
            "steps": steps,
            "last_verdict": analyses[-1] if analyses else None,
        },
    }


def decisions_panel(events: Iterable[dict[str, Any]], limit: int = 10) -> dict[str, Any]:
    """The last policy decisions, newest first, with their reasons and the exact input."""
    found = [e for e in events if e.get("type") in DECISION_TYPES]
    shown = []
    for event in reversed(found[-limit:]):
        shown.append({k: v for k, v in event.items() if k not in HIDDEN_DECISION_KEYS})
    return {"decisions": shown}


def timeline_panel(
    events: Iterable[dict[str, Any]], verify: dict[str, Any] | None, limit: int = 60
) -> dict[str, Any]:
    kept = [e for e in events if e.get("type") not in TIMELINE_SKIP]
    items = [
        {
            "seq": e.get("seq"),
            "ts": e.get("ts"),
            "type": e.get("type"),
            "kind": kind_of(e),
            "summary": summarise(e),
        }
        for e in reversed(kept[-limit:])
    ]
    return {"events": items, "verify": verify}


def kind_of(event: dict[str, Any]) -> str:
    """A colour class for the timeline: good, bad, warn or info."""
    kind = event.get("type")
    if kind == "policy_decision":
        return "good" if event.get("allow") else "bad"
    if kind in {"rollback", "policy_unavailable", "chaos"}:
        return "bad" if kind != "chaos" else "warn"
    if kind == "rollout_analysis":
        return {"pass": "good", "fail": "bad"}.get(str(event.get("verdict")), "warn")
    if kind == "rollout":
        return {"promoted": "good", "rolled_back": "bad", "aborted": "bad"}.get(
            str(event.get("phase")), "info"
        )
    if kind == "dashboard_action":
        return "info" if event.get("ok") else "warn"
    return "info"


def summarise(event: dict[str, Any]) -> str:  # noqa: PLR0911 - one line per event type
    kind = event.get("type")
    if kind == "policy_decision":
        verdict = "allowed" if event.get("allow") else "denied"
        reasons = "; ".join(event.get("reasons") or [])
        return f"{event.get('domain')} policy {verdict}" + (f": {reasons}" if reasons else "")
    if kind in {"policy_unavailable", "policy_override"}:
        return f"{event.get('domain')} policy unavailable: {event.get('reason', '')}"
    if kind == "rollout":
        return f"rollout {event.get('phase')}: {event.get('message', '')}"
    if kind == "rollout_analysis":
        reasons = "; ".join(event.get("reasons") or []) or "analysis passed"
        return f"step {int(event.get('step', 0)) + 1} at {event.get('weight')}%: " + (
            f"{event.get('verdict')} ({reasons})"
        )
    if kind == "promote":
        return f"promote {event.get('from')} → {event.get('to')} ({event.get('version')})"
    if kind == "rollback":
        return "rollback" + (f": {event['reason']}" if event.get("reason") else " to stable")
    if kind == "chaos":
        return f"chaos {event.get('mode')} on {event.get('instance')}"
    if kind == "dashboard_action":
        weight = f" {event['weight']}%" if event.get("weight") is not None else ""
        return f"{event.get('action')}{weight} via dashboard: {event.get('summary', '')}"
    if kind == "deploy":
        return f"deploy ({event.get('mode')}), started {', '.join(event.get('started') or [])}"
    if kind == "teardown":
        return f"teardown, stopped {len(event.get('stopped') or [])} process(es)"
    return str(kind)
