from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from swiftdeploy.audit import Audit, run_audit
from swiftdeploy.audit_charts import Downsampler
from swiftdeploy.cli.main import main
from swiftdeploy.history import History

PIPE = re.compile(r"(?<!\\)\|")


def sample(
    mode: str = "canary", err: float = 0.0, p99: float = 40.0, fail: bool = False
) -> dict[str, Any]:
    return {
        "mode": mode,
        "req_per_s": 5.0,
        "p99_ms": p99,
        "error_rate": err,
        "uptime_s": 10.0,
        "chaos": "none",
        "policy": {"infra": "PASS", "canary": "FAIL" if fail else "PASS"},
    }


def denied(decision_id: str = "d-1") -> dict[str, Any]:
    return {
        "domain": "canary",
        "allow": False,
        "reasons": ["error rate 6.00% > 1.00%", "p99 620ms | over 500ms"],
        "checks": {"error_rate": {"pass": False, "detail": "6.00%"}},
        "input": {"error_rate": 0.06, "p99_ms": 620.0},
        "engine": "embedded",
        "decision_id": decision_id,
        "policy_digest": "sha256:abc",
        "duration_ms": 1.5,
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("services: {}\n")
    h = History(tmp_path / "history.jsonl")
    h.append("deploy", {"mode": "stable", "started": ["stable-1"], "stable": "1.0"})
    for _ in range(3):
        h.append("status_sample", sample("stable"))
    h.append("promote", {"from": "stable", "to": "canary", "version": "1.1"})
    h.append("chaos", {"instance": "canary-1", "mode": "error", "rate": 0.5})
    h.append("status_sample", sample("canary", err=0.06, p99=620.0, fail=True))
    h.append("policy_decision", denied())
    h.append("policy_override", {"domain": "infra", "reason": "opa down", "decision_id": "o-1"})
    h.append("rollback", {"stopped": "canary-1"})
    h.append("teardown", {"stopped": ["stable-1"], "clean": True})
    return manifest


def run(manifest: Path, *args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["-f", str(manifest), "audit", *args])
    code = exit_info.value.code
    return code if isinstance(code, int) else 1


def gfm_tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def columns(row: str) -> int:
    assert row.startswith("|")
    assert row.endswith("|")
    return len(PIPE.findall(row)) - 1


def test_report_is_valid_gfm_with_every_section(project: Path, capsys: Any) -> None:
    assert run(project) == 0
    out = capsys.readouterr().out
    assert "==> audit_report.md generated" in out
    assert "    4 snapshots | 2 violations | 3 mode changes | 1 chaos event" in out
    report = (project.parent / "audit_report.md").read_text()
    tables = gfm_tables(report)
    assert len(tables) >= 7
    for rows in tables:
        header, separator, *body = rows
        assert re.fullmatch(r"\|(---\|)+", separator)
        assert columns(header) == columns(separator)
        for row in body:
            assert columns(row) == columns(header), row
    for heading in (
        "## Summary",
        "## Deployment timeline",
        "## Policy violations",
        "## Mode changes",
        "## Chaos events",
        "## Policy overrides",
        "## Charts",
    ):
        assert heading in report
    assert r"p99 620ms \| over 500ms" in report
    assert "d-1" in report
    assert "![Error rate over time](audit_error_rate.png)" in report
    assert (project.parent / "audit_error_rate.png").read_bytes().startswith(b"\x89PNG")
    assert (project.parent / "audit_p99.png").read_bytes().startswith(b"\x89PNG")


def test_json_summary(project: Path, capsys: Any) -> None:
    assert run(project, "--format", "json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["snapshots"] == 4
    assert summary["violations"] == 2
    assert summary["mode_changes"] == 3  # stable→canary, canary→stable, stable→down
    assert summary["chaos_events"] == 1
    assert summary["overrides"] == 1
    assert summary["lifecycle_events"] == 4
    assert summary["by_type"]["status_sample"] == 4
    assert summary["charts"] == ["audit_error_rate.png", "audit_p99.png"]


def test_since_until_filter(project: Path, capsys: Any) -> None:
    events = list(History(project.parent / "history.jsonl").events())
    since, until = events[4]["ts"], events[6]["ts"]
    assert run(project, "--since", since, "--until", until, "--format", "json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == sum(since <= e["ts"] <= until for e in events)
    assert "Window:" in (project.parent / "audit_report.md").read_text()


def test_bad_since_is_a_usage_error(project: Path) -> None:
    assert run(project, "--since", "last tuesday") == 2


def test_no_history(tmp_path: Path, capsys: Any) -> None:
    manifest = tmp_path / "manifest.yaml"
    (tmp_path / "audit_p99.png").write_bytes(b"stale")
    assert run(manifest) == 0
    assert "0 snapshots | 0 violations | 0 mode changes | 0 chaos events" in capsys.readouterr().out
    report = (tmp_path / "audit_report.md").read_text()
    assert "No history" in report
    assert not (tmp_path / "audit_p99.png").exists()


def test_verify_ok_and_tampered(project: Path, capsys: Any) -> None:
    assert run(project, "--verify") == 0
    assert "history verified: 11 events" in capsys.readouterr().out
    path = project.parent / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert '"p99_ms":40.0' in lines[3]
    lines[3] = lines[3].replace('"p99_ms":40.0', '"p99_ms":41.0')
    path.write_text("".join(lines))
    assert run(project, "--verify") == 1
    assert "line 4" in capsys.readouterr().err
    assert run(project, "--verify", "--format", "json") == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["ok"], result["first_bad_line"], result["count"]) == (False, 4, 3)


def test_replay(project: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import swiftdeploy.manifest
    import swiftdeploy.policy
    from swiftdeploy.policy.decision import Decision

    class Engine:
        name = "fake"

        def evaluate(self, domain: str, input: dict[str, Any]) -> Decision:
            assert input == {"error_rate": 0.06, "p99_ms": 620.0}
            return Decision(domain=domain, allow=True, deny=[], checks={}, policy_digest="new")

    monkeypatch.setattr(
        swiftdeploy.manifest, "load_manifest", lambda path: SimpleNamespace(policy=None)
    )
    monkeypatch.setattr(swiftdeploy.policy, "engine_for", lambda *a, **k: Engine())
    assert run(project, "--replay", "d-1", "--format", "json") == 1  # decision changed
    payload = json.loads(capsys.readouterr().out)
    assert payload["recorded"]["allow"] is False
    assert payload["replayed"]["allow"] is True
    assert payload["policy_digest_changed"] is True
    assert run(project, "--replay", "missing") == 2


def test_downsampler_memory_is_bounded() -> None:
    series = Downsampler(capacity=64)
    for i in range(100_000):
        series.add(f"2026-01-01T00:00:00.{i % 1000:03d}Z", 0.01, float(i % 997))
    assert len(series.buckets) <= 64
    assert sum(b.samples for b in series.buckets) == 100_000
    assert max(b.p99_max or 0 for b in series.buckets) == 996.0


def test_tables_keep_latest_rows_but_count_all(tmp_path: Path) -> None:
    audit = Audit()
    for i in range(500):
        audit.add({"ts": f"t{i:04d}", "type": "policy_decision", **denied(f"id-{i}")})
    assert audit.violations.total == 500
    assert len(audit.violations.rows) == 200
    assert audit.violations.rows[-1][-1] == "id-499"
    result = run_audit(History(tmp_path / "none.jsonl"), tmp_path / "r.md")
    assert result.summary["events"] == 0


def test_rollout_phases_and_reconciles_join_the_timeline() -> None:
    audit = Audit().feed(
        [
            {"type": "rollout", "ts": "2026-11-23T10:00:00Z", "phase": "progressing",
             "version": "2.0.0", "step": 0, "weight": 10, "message": "canary at 10%"},
            {"type": "rollout", "ts": "2026-11-23T10:01:00Z", "phase": "rolled_back",
             "version": "2.0.0", "step": 1, "weight": 25, "message": "2 failed checks"},
            {"type": "rollback", "ts": "2026-11-23T10:01:01Z", "reason": "2 failed checks"},
            {"type": "reconcile", "ts": "2026-11-23T10:02:00Z", "interrupted": "deploy",
             "stopped": ["orphan-1"]},
        ]
    )  # fmt: skip
    assert audit.summary()["lifecycle_events"] == 4
    assert audit.mode_changes.total == 0  # the first known mode; nothing to change from


def test_one_request_one_answer_and_verify_wins(project: Path) -> None:
    from swiftdeploy.audit_run import AuditRequest, run
    from swiftdeploy.errors import UsageError

    head = run(project, AuditRequest(head=""))
    assert head.kind == "head"
    assert head.head is not None
    assert head.head[0] == 10  # seq counts from 0
    checked = run(project, AuditRequest(verify=True, head=head.head, replay="d-1"))
    assert checked.kind == "verify"
    assert checked.anchor == head.head
    assert checked.verified is not None
    assert checked.verified.ok
    with pytest.raises(UsageError):
        run(project, AuditRequest(head=head.head))
    report = run(project, AuditRequest(since="2000-01-01T00:00:00Z"))
    assert report.kind == "report"
    assert report.report is not None
    assert report.report.summary["events"] == 11
