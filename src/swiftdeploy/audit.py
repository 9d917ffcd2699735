"""audit_report.md from history.jsonl, in one streaming pass with constant memory.

Counts are exact over the whole history; the tables keep only the latest rows of each kind
(and say so), and the charts come from a fixed-size downsampled series, so a history of a
million events costs no more memory than one of a hundred.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swiftdeploy.audit_charts import Downsampler, render_charts
from swiftdeploy.files import atomic_write_many
from swiftdeploy.history import History, format_ts

TABLE_ROWS = 200
LIFECYCLE = frozenset({"deploy", "promote", "rollback", "teardown", "rollout", "reconcile"})
CHART_NAMES = ("audit_error_rate.png", "audit_p99.png")
Row = tuple[str, ...]


@dataclass
class Section:
    """A table that counts every row but keeps only the latest TABLE_ROWS."""

    headers: Row
    total: int = 0
    # Raw values: formatting happens only for the rows that survive to the report.
    raw: deque[tuple[object, ...]] = field(default_factory=lambda: deque(maxlen=TABLE_ROWS))

    def add(self, *cells: object) -> None:
        self.total += 1
        self.raw.append(cells)

    @property
    def rows(self) -> list[Row]:
        return [tuple(_cell(_render(c)) for c in cells) for cells in self.raw]


@dataclass(frozen=True)
class SampleFailure:
    """A failing status sample, kept unformatted until it is rendered."""

    error_rate: object
    p99_ms: object
    mode: object

    def __str__(self) -> str:
        return f"error_rate={_pct(self.error_rate)} p99={_ms(self.p99_ms)} mode={self.mode}"


def _render(value: object) -> object:
    return ", ".join(value) if isinstance(value, list) and value else value


@dataclass
class Audit:
    by_type: Counter[str] = field(default_factory=Counter)
    events: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    snapshots: int = 0
    mode: str | None = None
    timeline: Section = field(default_factory=lambda: Section(("Time (UTC)", "Event", "Details")))
    violations: Section = field(
        default_factory=lambda: Section(("Time (UTC)", "Source", "Domain", "Reasons", "Decision"))
    )
    mode_changes: Section = field(
        default_factory=lambda: Section(("Time (UTC)", "From", "To", "Event"))
    )
    chaos: Section = field(
        default_factory=lambda: Section(("Time (UTC)", "Instance", "Chaos", "Details"))
    )
    overrides: Section = field(
        default_factory=lambda: Section(("Time (UTC)", "Event", "Domain", "Reason", "Decision"))
    )
    series: Downsampler = field(default_factory=Downsampler)
    skipped_lines: int = 0

    def feed(self, events: Iterable[dict[str, Any]]) -> Audit:
        for event in events:
            self.add(event)
        return self

    def add(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", "?"))
        ts = str(event.get("ts", ""))
        self.events += 1
        self.by_type[kind] += 1
        if self.first_ts is None:
            self.first_ts = ts
        self.last_ts = ts
        if kind == "status_sample":
            self._sample(ts, event)
        elif kind in LIFECYCLE:
            self.timeline.add(ts, kind, _lifecycle_details(kind, event))
            self._mode(ts, _lifecycle_mode(kind, event), kind)
        elif kind == "policy_decision":
            if event.get("allow") is False:
                reasons = event.get("reasons") or ["denied"]
                self.violations.add(
                    ts,
                    "policy_decision",
                    event.get("domain"),
                    _join(reasons),
                    event.get("decision_id"),
                )
        elif kind in ("policy_override", "policy_unavailable"):
            self.overrides.add(
                ts, kind, event.get("domain"), event.get("reason"), event.get("decision_id")
            )
        elif kind == "chaos":
            details = {k: v for k, v in event.items() if k not in _CHAOS_HIDDEN}
            self.chaos.add(ts, event.get("instance"), event.get("mode"), _kv(details))

    def _sample(self, ts: str, event: dict[str, Any]) -> None:
        self.snapshots += 1
        mode = event.get("mode")
        policy = event.get("policy")
        if isinstance(policy, dict):
            failed = [d for d, verdict in policy.items() if verdict == "FAIL"]
            if failed:
                detail = SampleFailure(event.get("error_rate"), event.get("p99_ms"), mode)
                self.violations.add(ts, "status_sample", failed, detail, "")
        self._mode(ts, mode, "status_sample")
        self.series.add(ts, _num(event.get("error_rate")), _num(event.get("p99_ms")))

    def _mode(self, ts: str, mode: object, via: str) -> None:
        if not isinstance(mode, str):
            return
        if self.mode is not None and mode != self.mode:
            self.mode_changes.add(ts, self.mode, mode, via)
        self.mode = mode

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "snapshots": self.snapshots,
            "violations": self.violations.total,
            "mode_changes": self.mode_changes.total,
            "chaos_events": self.chaos.total,
            "overrides": self.overrides.total,
            "lifecycle_events": self.timeline.total,
            "by_type": dict(sorted(self.by_type.items())),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "skipped_lines": self.skipped_lines,
        }


_CHAOS_HIDDEN = frozenset({"ts", "seq", "type", "prev", "hash", "instance", "mode"})


def _lifecycle_mode(kind: str, event: dict[str, Any]) -> str | None:
    if kind == "deploy":
        mode = event.get("mode")
        return mode if isinstance(mode, str) else None
    if kind == "promote":
        target = event.get("to")
        return target if target in ("canary", "stable") else None
    # rollout phases and reconciles change no mode themselves: the promote/rollback they
    # lead to is recorded as its own event.
    return {"rollback": "stable", "teardown": "down"}.get(kind)


def _lifecycle_details(kind: str, event: dict[str, Any]) -> str:
    keys = {
        "deploy": ("mode", "started", "stable", "canary", "canary_weight"),
        "promote": ("from", "to", "version", "canary_weight"),
        "rollback": ("reason", "stopped", "stable"),
        "teardown": ("stopped", "clean"),
        "rollout": ("phase", "version", "step", "weight", "message"),
        "reconcile": ("interrupted", "stopped"),
    }[kind]
    return _kv({k: event[k] for k in keys if k in event} | _artifacts(event))


def _artifacts(event: dict[str, Any]) -> dict[str, str]:
    """What each track ran after the event (`stable_runs=app:1.1.0 (3fa2c1d4e5f6) v1.1.0`):
    events recorded before artifacts were have none."""
    from swiftdeploy.artifact import Artifact
    from swiftdeploy.errors import StateError

    recorded = event.get("artifacts")
    found: dict[str, str] = {}
    for track in ("stable", "canary"):
        data = recorded.get(track) if isinstance(recorded, dict) else None
        if isinstance(data, dict):
            try:
                found[f"{track}_runs"] = Artifact.from_dict(data, where="history").describe()
            except StateError:
                continue
    return found


def _num(value: object) -> float | None:
    kind = type(value)  # exact types: bool is an int subclass and must not chart as 0/1
    return float(value) if kind is float or kind is int else None  # type: ignore[arg-type]


def _pct(value: object) -> str:
    number = _num(value)
    return "n/a" if number is None else f"{number * 100:.2f}%"


def _ms(value: object) -> str:
    number = _num(value)
    return "n/a" if number is None else f"{number:.0f}ms"


def _join(values: object) -> str:
    if isinstance(values, list | tuple):
        return "; ".join(str(v) for v in values)
    return str(values)


def _kv(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={_join(v) if isinstance(v, list) else v}" for k, v in values.items())


def _cell(value: object) -> str:
    """Text safe inside a GFM table cell: no pipes or newlines to break the row."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(headers: Row, rows: Iterable[Row]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _section(title: str, section: Section, empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not section.total:
        return [*lines, f"_{empty}_", ""]
    if section.total > len(section.raw):
        lines += [f"Showing the latest {len(section.raw)} of {section.total}.", ""]
    return [*lines, *table(section.headers, section.rows), ""]


@dataclass(frozen=True)
class AuditResult:
    report: Path
    charts: list[Path]
    summary: dict[str, Any]


def run_audit(
    history: History,
    report: Path,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    now: datetime | None = None,
) -> AuditResult:
    """Stream the history, write the report (and charts) atomically beside `report`."""
    audit = Audit().feed(history.events(since=since, until=until))
    audit.skipped_lines = history.skipped
    charts = render_charts(audit.series) if audit.snapshots else {}
    text = render_report(
        audit,
        history_name=history.path.name,
        exists=history.path.exists(),
        since=since,
        until=until,
        now=now or datetime.now(UTC),
        charts=list(charts),
    )
    files: dict[Path, str | bytes] = {report: text}
    files.update({report.parent / name: data for name, data in charts.items()})
    atomic_write_many(files)
    for name in CHART_NAMES:  # a chart from an older run must not sit beside a new report
        if name not in charts:
            with contextlib.suppress(FileNotFoundError):
                (report.parent / name).unlink()
    summary = {"report": str(report), "charts": sorted(charts), **audit.summary()}
    return AuditResult(report, [report.parent / name for name in sorted(charts)], summary)


def render_report(
    audit: Audit,
    *,
    history_name: str,
    exists: bool,
    since: datetime | str | None,
    until: datetime | str | None,
    now: datetime,
    charts: list[str],
) -> str:
    lines = ["# SwiftDeploy audit report", ""]
    lines += [f"Generated {format_ts(now)} from `{history_name}`."]
    if since is not None or until is not None:
        lines += ["", f"Window: {_bound(since, 'the beginning')} to {_bound(until, 'now')}."]
    lines.append("")
    if not exists or audit.events == 0:
        reason = "does not exist yet" if not exists else "has no events in this window"
        lines += [f"No history: `{history_name}` {reason}. Nothing to audit.", ""]
        return "\n".join(lines)
    lines += [f"Events from {audit.first_ts} to {audit.last_ts}.", ""]
    s = audit.summary()
    summary_rows = [
        ("Events", s["events"]),
        ("Status snapshots", s["snapshots"]),
        ("Policy violations", s["violations"]),
        ("Mode changes", s["mode_changes"]),
        ("Chaos events", s["chaos_events"]),
        ("Policy overrides / engine unavailable", s["overrides"]),
        ("Deploy / promote / rollback / teardown", s["lifecycle_events"]),
        ("History repairs (torn lines recovered)", audit.by_type.get("history_repair", 0)),
        ("Unreadable lines skipped", s["skipped_lines"]),
    ]
    lines += ["## Summary", ""]
    lines += table(("Metric", "Count"), [(k, str(v)) for k, v in summary_rows])
    lines += ["", "### Events by type", ""]
    lines += table(("Type", "Count"), [(_cell(k), str(v)) for k, v in s["by_type"].items()])
    lines.append("")
    lines += _section(
        "Deployment timeline", audit.timeline, "No deploy, promote, rollback or teardown."
    )
    lines += _section("Policy violations", audit.violations, "No policy violations.")
    lines += _section("Mode changes", audit.mode_changes, "No mode changes.")
    lines += _section("Chaos events", audit.chaos, "No chaos injected.")
    lines += _section("Policy overrides", audit.overrides, "No policy overrides.")
    lines += ["## Charts", ""]
    if charts:
        titles = {"audit_error_rate.png": "Error rate over time", "audit_p99.png": "P99 over time"}
        for name in charts:
            lines += [f"![{titles.get(name, name)}]({name})", ""]
    else:
        lines += ["_No status samples to chart._", ""]
    lines += [
        "## Integrity",
        "",
        "This report does not check the hash chain; run `swiftdeploy audit --verify` for that.",
        "",
    ]
    return "\n".join(lines)


def _bound(value: datetime | str | None, default: str) -> str:
    if value is None:
        return default
    return value if isinstance(value, str) else format_ts(value)
