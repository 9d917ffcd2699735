from __future__ import annotations

import math
from typing import Any

from swiftdeploy.dashboard import actions
from swiftdeploy.dashboard.panels import (
    decisions_panel,
    over_window,
    rollout_panel,
    series,
    timeline_panel,
    track_weights,
)
from swiftdeploy.metrics import Scrape

SPEC = {"interval_s": 10.0, "max_failed_checks": 2, "progress_deadline_s": 600.0, "window_s": 30}


def scrape(ok: float, errors: float, slow: float = 0.0) -> Scrape:
    total = ok + errors + slow
    return Scrape(
        requests={("GET", "/", "200"): ok + slow, ("GET", "/", "500"): errors},
        buckets={0.005: ok + errors, 1.0: total, math.inf: total},
        uptime_s=100.0,
        chaos="none",
    )


def test_series_has_one_point_per_pair_of_cached_scrapes() -> None:
    entries = [(100.0, scrape(0, 0)), (102.0, scrape(100, 0)), (104.0, scrape(200, 10))]
    points = series(entries, actions.window_figures)
    assert [p["t"] for p in points] == [102.0, 104.0]
    assert points[0]["req_per_s"] == 50.0
    assert points[0]["error_rate"] == 0.0
    assert points[1]["error_rate"] == round(10 / 110, 6)


def test_over_window_judges_from_the_scrape_about_a_window_ago() -> None:
    entries = [(t, scrape(t * 10, 0)) for t in (0.0, 10.0, 20.0, 30.0, 40.0)]
    figures = over_window(entries, 25.0, actions.window_figures)
    assert figures is not None
    assert figures["window_s"] == 30.0  # from t=10, the newest scrape at least 25 s old
    assert figures["request_count"] == 300
    assert over_window(entries[:1], 25.0, actions.window_figures) is None


def test_track_weights_follow_the_canary_share() -> None:
    assert track_weights({"canary": "c1", "canary_weight": 25}) == {"stable": 75, "canary": 25}
    assert track_weights({"canary": None, "canary_weight": 0}) == {"stable": 100, "canary": 0}


def rollout(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "2.0.0",
        "steps": [10, 50, 100],
        "step": 1,
        "phase": "progressing",
        "failed_checks": 1,
        "weight_override": None,
        "step_started": 1000.0,
        "analyses": [
            {"step": 0, "weight": 10, "verdict": "pass", "reasons": [], "ts": ""},
            {"step": 1, "weight": 50, "verdict": "fail", "reasons": ["Error rate 5%"],
             "ts": "1970-01-01T00:16:45Z"},
        ],
    }  # fmt: skip
    return {**base, **overrides}


def test_rollout_panel_shows_steps_verdicts_and_the_next_analysis() -> None:
    panel = rollout_panel(rollout(), SPEC, now=1007.0)
    assert panel["active"] is True
    r = panel["rollout"]
    assert [s["status"] for s in r["steps"]] == ["passed", "current", "pending"]
    assert [a["verdict"] for a in r["steps"][1]["analyses"]] == ["fail"]
    # The last analysis at this step ended at 1005 s: the next one is due at 1015 s.
    assert r["next_analysis_in_s"] == 8.0
    assert (r["failed_checks"], r["max_failed_checks"]) == (1, 2)
    assert r["last_verdict"]["reasons"] == ["Error rate 5%"]
    assert r["weight"] == 50


def test_a_paused_or_finished_rollout_has_no_next_analysis() -> None:
    paused = rollout_panel(rollout(phase="paused", weight_override=30), SPEC, now=1007.0)
    assert paused["rollout"]["next_analysis_in_s"] is None
    assert paused["rollout"]["weight"] == 30
    done = rollout_panel(rollout(phase="rolled_back"), SPEC, now=1007.0)
    assert done["active"] is False
    assert [s["status"] for s in done["rollout"]["steps"]] == ["passed", "rolled_back", "pending"]
    promoted = rollout_panel(rollout(phase="promoted", step=2), SPEC, now=1.0)
    assert [s["status"] for s in promoted["rollout"]["steps"]] == ["passed"] * 3
    assert rollout_panel(None, SPEC, now=0.0) == {"active": False, "rollout": None}


def test_decisions_keep_reasons_and_input_but_never_the_engine() -> None:
    events = [
        {"type": "status_sample", "seq": 0},
        {"type": "policy_decision", "seq": 1, "domain": "infra", "allow": True,
         "engine": "opa", "policy_digest": "abc", "input": {"cpu_load": 0.5}, "hash": "h"},
        {"type": "policy_decision", "seq": 2, "domain": "canary", "allow": False,
         "reasons": ["P99 too high"], "engine": "embedded", "input": {"p99_ms": 900}},
    ]  # fmt: skip
    shown = decisions_panel(events)["decisions"]
    assert [d["seq"] for d in shown] == [2, 1]  # newest first
    assert shown[0]["input"] == {"p99_ms": 900}
    assert shown[0]["reasons"] == ["P99 too high"]
    assert all("engine" not in d and "policy_digest" not in d and "hash" not in d for d in shown)


def test_timeline_summarises_events_and_skips_status_samples() -> None:
    events = [
        {"type": "status_sample", "seq": 0},
        {"type": "chaos", "seq": 1, "mode": "error", "instance": "canary-2"},
        {"type": "policy_decision", "seq": 2, "domain": "canary", "allow": False,
         "reasons": ["Error rate 50%"]},
        {"type": "rollback", "seq": 3, "reason": "2 failed checks"},
        {"type": "dashboard_action", "seq": 4, "action": "set-weight", "weight": 30, "ok": True,
         "summary": "weight 30% requested", "via": "dashboard"},
    ]  # fmt: skip
    panel = timeline_panel(events, {"ok": True, "count": 5})
    assert [e["seq"] for e in panel["events"]] == [4, 3, 2, 1]
    assert [e["kind"] for e in panel["events"]] == ["info", "bad", "bad", "warn"]
    assert panel["events"][0]["summary"] == "set-weight 30% via dashboard: weight 30% requested"
    assert panel["events"][2]["summary"] == "canary policy denied: Error rate 50%"
    assert panel["verify"] == {"ok": True, "count": 5}
