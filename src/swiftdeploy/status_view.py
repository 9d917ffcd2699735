"""How a dashboard sample looks: a Rich panel for terminals, plain lines for pipes and logs.

Pure functions of a `DashboardSample`; sampling (I/O) lives in `swiftdeploy.status`. The
headline figures judge the canary when there is one, because that is what the policy gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

Status = Literal["PASS", "FAIL", "UNAVAILABLE"]
SPARK = "▁▂▃▄▅▆▇█"
_STYLE = {"PASS": "green", "FAIL": "red", "UNAVAILABLE": "yellow"}


@dataclass(frozen=True)
class TrackSample:
    track: str  # "stable" | "canary"
    version: str
    req_per_s: float | None
    p99_ms: float | None
    error_rate: float | None
    uptime_s: float | None
    chaos: str
    available: bool
    reason: str = ""
    artifact: str = ""  # what the track runs: image ref + short ID (or command) and version
    restarts: int | None = None  # by the local supervisor (None: the runtime does not count)


@dataclass(frozen=True)
class CollectorSample:
    """The data-plane collector beside the deployment."""

    running: bool
    pid: int | None
    reason: str = ""  # why the gates cannot judge its figures now ("" while fresh)


@dataclass(frozen=True)
class RuleResult:
    domain: str
    rule: str
    status: str  # Status
    detail: str = ""


@dataclass(frozen=True)
class DashboardSample:
    ts: str
    mode: str
    tracks: list[TrackSample] = field(default_factory=list)
    policy: list[RuleResult] = field(default_factory=list)
    recent_p99: list[float] = field(default_factory=list)
    recent_error_rate: list[float] = field(default_factory=list)
    rollout: str = ""  # "step 2/4 at 25% (progressing); …" while a progressive rollout runs
    collector: CollectorSample | None = None  # None: nothing deployed


# -- figures -------------------------------------------------------------------------------


def judged_track(sample: DashboardSample) -> TrackSample | None:
    """The track the headline (and the canary policy) is about: canary first, then stable."""
    live = [t for t in sample.tracks if t.available]
    for name in ("canary", "stable"):
        for track in live:
            if track.track == name:
                return track
    return live[0] if live else None


def total_req_per_s(sample: DashboardSample) -> float | None:
    rates = [t.req_per_s for t in sample.tracks if t.available and t.req_per_s is not None]
    return sum(rates) if rates else None


def domain_status(sample: DashboardSample) -> dict[str, str]:
    """One verdict per policy domain: any FAIL fails it, else any UNAVAILABLE, else PASS."""
    verdicts: dict[str, str] = {}
    for rule in sample.policy:
        current = verdicts.get(rule.domain, "PASS")
        if rule.status == "FAIL" or current == "FAIL":
            verdicts[rule.domain] = "FAIL"
        elif rule.status == "UNAVAILABLE" or current == "UNAVAILABLE":
            verdicts[rule.domain] = "UNAVAILABLE"
        else:
            verdicts[rule.domain] = "PASS"
    return verdicts


def chaos_of(sample: DashboardSample) -> str:
    active = [t.chaos for t in sample.tracks if t.available and t.chaos not in ("none", "")]
    return active[0] if active else "none"


def to_history_record(sample: DashboardSample) -> dict[str, Any]:
    """The seeds' status_sample payload. No `ts`: the history stamps its own (reserved key)."""
    judged = judged_track(sample)
    record: dict[str, Any] = {
        "mode": sample.mode,
        "req_per_s": _round(total_req_per_s(sample), 3),
        "p99_ms": _round(judged.p99_ms if judged else None, 1),
        "error_rate": _round(judged.error_rate if judged else None, 6),
        "uptime_s": _round(judged.uptime_s if judged else None, 1),
        "chaos": chaos_of(sample),
        "policy": domain_status(sample),
        "sampled_at": sample.ts,
    }
    restarts = {t.track: t.restarts for t in sample.tracks if t.restarts is not None}
    if restarts:  # only where SwiftDeploy restarts instances itself (the local supervisor)
        record["restarts"] = restarts
    return record


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# -- formatting ----------------------------------------------------------------------------


def sparkline(values: Sequence[float | None], width: int | None = None) -> str:
    """Unicode block sparkline scaled to the values' own range; None leaves a gap."""
    if width is not None:
        values = list(values)[-width:] if width > 0 else []
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    top = len(SPARK) - 1
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARK[0 if span == 0 else round((v - low) / span * top)])
    return "".join(out)


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} req/s"


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}ms"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def fmt_uptime(value: float | None) -> str:
    if value is None:
        return "n/a"
    seconds = int(value)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def fmt_collector(collector: CollectorSample) -> str:
    if not collector.running:
        return collector.reason  # the gates' sentence: it says the collector is not running
    running = f"running (pid {collector.pid})"
    return f"{running}, behind: {collector.reason}" if collector.reason else running


def _headline(sample: DashboardSample) -> list[tuple[str, str]]:
    judged = judged_track(sample)
    rows = [
        ("Throughput", fmt_rate(total_req_per_s(sample))),
        ("P99 Latency", fmt_ms(judged.p99_ms if judged else None)),
        ("Error Rate", fmt_pct(judged.error_rate if judged else None)),
        ("Uptime", fmt_uptime(judged.uptime_s if judged else None)),
        ("Chaos", chaos_of(sample)),
    ]
    if sample.collector is not None:
        rows.append(("Collector", fmt_collector(sample.collector)))
    counted = [f"{t.track} {t.restarts}" for t in sample.tracks if t.restarts is not None]
    if counted:
        rows.append(("Restarts", ", ".join(counted)))
    if sample.rollout:
        rows.append(("Rollout", sample.rollout))
    if sample.recent_p99:
        rows.append(("P99 trend", sparkline(sample.recent_p99, 30)))
    if sample.recent_error_rate:
        rows.append(("Error trend", sparkline(sample.recent_error_rate, 30)))
    return rows


def _track_cells(track: TrackSample) -> list[str]:
    if not track.available:
        return [track.track, track.version, "UNAVAILABLE", track.reason, "", ""]
    return [
        track.track,
        track.version,
        fmt_rate(track.req_per_s),
        f"p99={fmt_ms(track.p99_ms)}",
        f"errors={fmt_pct(track.error_rate)}",
        f"chaos={track.chaos}",
    ]


def _artifact_rows(sample: DashboardSample) -> list[tuple[str, str]]:
    """What each track runs, one row per track: a row of its own, because an image
    reference or a command line is too long for a column of the figures' table."""
    return [(t.track, t.artifact) for t in sample.tracks if t.artifact]


def _domain_details(sample: DashboardSample) -> dict[str, str]:
    details: dict[str, list[str]] = {}
    for rule in sample.policy:
        if rule.detail:
            details.setdefault(rule.domain, []).append(rule.detail)
    return {domain: "; ".join(parts) for domain, parts in details.items()}


def render_lines(sample: DashboardSample) -> list[str]:
    """Plain text for non-TTY output, in the seeds' layout."""
    lines = [f"==> SwiftDeploy Status  [{sample.ts}]  mode={sample.mode}"]
    width = max(len(label) for label, _ in _headline(sample))
    lines += [f"  {label.ljust(width)}: {value}" for label, value in _headline(sample)]
    if sample.tracks:
        lines.append("  Tracks:")
        cells = [_track_cells(t) for t in sample.tracks]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        for row in cells:
            text = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append("    " + text.rstrip())
    runs = _artifact_rows(sample)
    if runs:
        lines.append("  Artifacts:")
        pad = max(len(track) for track, _ in runs)
        lines += [f"    {track.ljust(pad)}  {artifact}" for track, artifact in runs]
    lines.append("  Policy Compliance:")
    verdicts = domain_status(sample)
    if not verdicts:
        lines.append("    (no policy results)")
    details = _domain_details(sample)
    pad = max((len(d) for d in verdicts), default=0)
    for domain, verdict in verdicts.items():
        detail = details.get(domain, "")
        lines.append(f"    [{verdict}] {domain.ljust(pad)}" + (f"  — {detail}" if detail else ""))
    return lines


def render(sample: DashboardSample) -> RenderableType:
    """A Rich panel: headline figures, one row per track and what it runs, one row per
    policy rule."""
    headline = Table.grid(padding=(0, 2))
    headline.add_column(style="bold")
    headline.add_column()
    for label, value in _headline(sample):
        headline.add_row(label, value)

    tracks = Table(title="Tracks", expand=False)
    for column in ("track", "version", "req/s", "p99", "errors", "chaos"):
        tracks.add_column(column)
    for t in sample.tracks:
        if t.available:
            tracks.add_row(
                t.track,
                t.version,
                fmt_rate(t.req_per_s),
                fmt_ms(t.p99_ms),
                fmt_pct(t.error_rate),
                t.chaos,
            )
        else:
            tracks.add_row(t.track, t.version, Text("UNAVAILABLE", style="yellow"), t.reason)

    runs = Table(title="Artifacts", expand=False)
    for column in ("track", "runs"):
        runs.add_column(column)
    for track, artifact in _artifact_rows(sample):
        runs.add_row(track, artifact)

    policy = Table(title="Policy Compliance", expand=False)
    for column in ("status", "domain", "rule", "detail"):
        policy.add_column(column)
    for rule in sample.policy:
        style = _STYLE.get(rule.status, "")
        policy.add_row(Text(rule.status, style=style), rule.domain, rule.rule, rule.detail)

    parts: list[RenderableType] = [headline]
    if sample.tracks:
        parts.append(tracks)
    if runs.row_count:
        parts.append(runs)
    parts.append(policy if sample.policy else Text("no policy results", style="dim"))
    return Panel(
        Group(*parts),
        title=f"SwiftDeploy Status  [{sample.ts}]  mode={sample.mode}",
        title_align="left",
    )
