from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from swiftdeploy.history import History
from swiftdeploy.status_view import (
    CollectorSample,
    DashboardSample,
    RuleResult,
    TrackSample,
    fmt_uptime,
    render,
    render_lines,
    sparkline,
    to_history_record,
)

STABLE = "swift-deploy-1-node:1.0.0 (3fa2c1d4e5f6) v1.0.0"
CANARY = "registry.example.com/team/service-with-a-long-name:1.1.0 (0a1b2c3d4e5f) v1.1.0"


def sample(**overrides: object) -> DashboardSample:
    base: dict[str, object] = {
        "ts": "2026-05-06T20:10:00Z",
        "mode": "canary",
        "tracks": [
            TrackSample("stable", "1.0.0", 4.0, 42.0, 0.0, 3600.0, "none", True, "", STABLE),
            TrackSample("canary", "1.1.0", 3.3, 620.0, 0.06, 123.0, "slow", True, "", CANARY),
        ],
        "policy": [
            RuleResult("infra", "disk", "PASS", "disk=107GB"),
            RuleResult("infra", "cpu", "PASS", "cpu=0.8"),
            RuleResult("canary", "error_rate", "FAIL", "error_rate=6.00%"),
            RuleResult("canary", "p99", "FAIL", "p99=620ms"),
        ],
        "recent_p99": [100.0, 200.0, 620.0],
        "recent_error_rate": [0.0, 0.06],
    }
    base.update(overrides)
    return DashboardSample(**base)  # type: ignore[arg-type]


def test_plain_lines_match_the_seed_layout() -> None:
    lines = render_lines(sample())
    assert lines[0] == "==> SwiftDeploy Status  [2026-05-06T20:10:00Z]  mode=canary"
    text = "\n".join(lines)
    assert "Throughput : 7.3 req/s" in text
    assert "P99 Latency: 620ms" in text
    assert "Error Rate : 6.00%" in text
    assert "Policy Compliance:" in text
    assert "    [PASS] infra   — disk=107GB; cpu=0.8" in lines
    assert "    [FAIL] canary  — error_rate=6.00%; p99=620ms" in lines
    assert "\x1b" not in text


def test_plain_lines_name_what_each_track_runs_below_the_figures() -> None:
    lines = render_lines(sample())
    start = lines.index("  Artifacts:")
    assert lines[start - 2].startswith("    stable  1.0.0  4.0 req/s")
    assert lines[start + 1 : start + 3] == [f"    stable  {STABLE}", f"    canary  {CANARY}"]
    assert lines[start + 3] == "  Policy Compliance:"
    without = sample(tracks=[TrackSample("stable", "1.0.0", 4.0, 42.0, 0.0, 1.0, "none", True)])
    assert "  Artifacts:" not in render_lines(without)


def test_unavailable_track_and_policy() -> None:
    s = sample(
        tracks=[
            TrackSample("canary", "1.1.0", None, None, None, None, "unknown", False, "refused")
        ],
        policy=[RuleResult("canary", "-", "UNAVAILABLE", "opa down")],
        recent_p99=[],
        recent_error_rate=[],
    )
    text = "\n".join(render_lines(s))
    assert "UNAVAILABLE" in text
    assert "refused" in text
    assert "P99 Latency: n/a" in text
    assert "[UNAVAILABLE] canary  — opa down" in text


def test_empty_sample_renders() -> None:
    s = DashboardSample(ts="t", mode="down")
    assert "(no policy results)" in "\n".join(render_lines(s))
    out = StringIO()
    Console(file=out, width=100, color_system=None, force_terminal=False).print(render(s))
    assert "mode=down" in out.getvalue()


def test_rich_render_without_tty() -> None:
    out = StringIO()
    console = Console(file=out, width=100, color_system=None, force_terminal=False)
    console.print(render(sample()))
    text = out.getvalue()
    assert "\x1b" not in text
    assert "mode=canary" in text
    assert "620ms" in text
    assert "FAIL" in text
    assert "error_rate" in text
    assert STABLE in text
    assert CANARY in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_history_record_has_the_seed_fields_and_appends(tmp_path: Path) -> None:
    record = to_history_record(sample())
    assert record["mode"] == "canary"
    assert record["req_per_s"] == 7.3
    assert record["p99_ms"] == 620.0
    assert record["error_rate"] == 0.06
    assert record["uptime_s"] == 123.0
    assert record["chaos"] == "slow"
    assert record["policy"] == {"infra": "PASS", "canary": "FAIL"}
    assert record["sampled_at"] == "2026-05-06T20:10:00Z"
    assert "restarts" not in record  # this runtime leaves restarts to its platform
    event = History(tmp_path / "h.jsonl").append("status_sample", record)
    assert event["policy"]["canary"] == "FAIL"


def test_history_record_keeps_the_supervisors_restart_counts() -> None:
    tracks = [
        TrackSample("stable", "1.0.0", 4.0, 42.0, 0.0, 3600.0, "none", True, restarts=0),
        TrackSample("canary", "1.1.0", 3.3, 62.0, 0.0, 123.0, "none", True, restarts=2),
    ]
    assert to_history_record(sample(tracks=tracks))["restarts"] == {"stable": 0, "canary": 2}


def test_stable_only_is_judged_when_no_canary() -> None:
    s = sample(tracks=[TrackSample("stable", "1.0.0", 2.0, 42.0, 0.01, 60.0, "none", True)])
    record = to_history_record(s)
    assert (record["p99_ms"], record["error_rate"], record["chaos"]) == (42.0, 0.01, "none")


def test_sparkline() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([]) == ""
    assert sparkline([None, 1.0, None, 2.0]) == " ▁ █"
    assert sparkline([1.0, 2.0, 3.0], width=2) == "▁█"
    assert sparkline([None]) == " "


def test_uptime_format() -> None:
    assert [fmt_uptime(v) for v in (None, 5, 123, 3725)] == ["n/a", "5s", "2m03s", "1h02m"]


def headline(s: DashboardSample) -> list[str]:
    lines = render_lines(s)
    return lines[1 : lines.index("  Tracks:")]


DEAD = "no measurements since 12:03:04 UTC (41 s ago): the collector is not running"


def test_the_collector_line_says_whether_it_runs_and_keeps_up() -> None:
    cases = {
        CollectorSample(True, 4242): "  Collector  : running (pid 4242)",
        CollectorSample(True, 4242, "no measurements since 12:03:04 UTC (41 s ago)"): (
            "  Collector  : running (pid 4242), behind: no measurements since 12:03:04 UTC "
            "(41 s ago)"
        ),
        CollectorSample(False, None, DEAD): f"  Collector  : {DEAD}",
    }
    for collector, line in cases.items():
        assert headline(sample(collector=collector, recent_p99=[], recent_error_rate=[])) == [
            "  Throughput : 7.3 req/s",
            "  P99 Latency: 620ms",
            "  Error Rate : 6.00%",
            "  Uptime     : 2m03s",
            "  Chaos      : slow",
            line,
        ]


def test_no_collector_line_without_one() -> None:
    assert not any("Collector" in line for line in render_lines(sample()))


def test_the_rich_panel_shows_the_collector_too() -> None:
    out = StringIO()
    console = Console(file=out, width=120, color_system=None, force_terminal=False)
    console.print(render(sample(collector=CollectorSample(False, None, DEAD))))
    assert f"Collector    {DEAD}" in out.getvalue()


def test_restarts_are_one_line_for_the_tracks_the_runtime_counts() -> None:
    tracks = [
        TrackSample("stable", "1.0.0", 4.0, 42.0, 0.0, 3600.0, "none", True, restarts=0),
        TrackSample("canary", "1.1.0", None, None, None, None, "unknown", False, "refused", "", 2),
    ]
    lines = headline(sample(tracks=tracks, recent_p99=[], recent_error_rate=[]))
    assert lines[-1] == "  Restarts   : stable 0, canary 2"
    assert not any("Restarts" in line for line in render_lines(sample()))  # not counted
