"""How `audit` prints its results (the core returns them; see audit.py, audit_replay.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from swiftdeploy.cli.console import console, counted
from swiftdeploy.errors import HistoryError, Unsuccessful

if TYPE_CHECKING:
    from swiftdeploy.audit import AuditResult
    from swiftdeploy.audit_replay import Replayed
    from swiftdeploy.history import VerifyResult


def print_audit(result: AuditResult, *, as_json: bool) -> None:
    if as_json:
        console().json(result.summary)
        return
    s = result.summary
    out = console()
    out.step(f"{result.report.name} generated")
    out.info(
        "  "
        + " | ".join(
            counted(s[key], noun)
            for key, noun in (
                ("snapshots", "snapshot"),
                ("violations", "violation"),
                ("mode_changes", "mode change"),
                ("chaos_events", "chaos event"),
            )
        )
    )
    if s["skipped_lines"]:
        out.warning(
            f"{counted(s['skipped_lines'], 'unreadable history line')} skipped; "
            "run `swiftdeploy audit --verify`"
        )


def print_head(head: tuple[int, str] | None, *, as_json: bool) -> None:
    text = f"{head[0]}:{head[1]}" if head else ""
    if as_json:
        console().json({"head": text or None})
    elif head is None:
        console().info("the history is empty")
    else:
        click.echo(text)


def print_verify(
    history_name: str, result: VerifyResult, anchor: tuple[int, str] | None, *, as_json: bool
) -> None:
    if as_json:
        console().json(
            {
                "ok": result.ok,
                "count": result.count,
                "first_bad_line": result.first_bad_line,
                "problem": result.problem,
            }
        )
        if not result.ok:
            raise Unsuccessful()
        return
    if not result.ok:
        raise HistoryError(
            f"history does not verify: {history_name} {result.problem}",
            hint=f"{result.count} events before line {result.first_bad_line} are intact",
        )
    against = f", including the head {anchor[0]}:{anchor[1][:12]}…" if anchor else ""
    console().success(f"history verified: {result.count} events{against}")


def print_replay(result: Replayed, *, as_json: bool) -> None:
    if as_json:
        console().json(result.to_json())
    else:
        out = console()
        out.step(f"Replaying decision {result.decision_id} ({result.domain}, {result.ts})")
        recorded, replayed = result.recorded_reasons, result.replayed_reasons
        out.info(f"recorded: {_verdict(result.recorded_allow)} {'; '.join(recorded)}".rstrip())
        out.info(f"replayed: {_verdict(result.replayed_allow)} {'; '.join(replayed)}".rstrip())
        if result.digest_changed:
            out.info("the policies changed since the decision was recorded")
        if result.same_decision:
            out.success("same decision")
        else:
            out.tag("DIFF", "today's policies decide differently", style="red")
    if not result.same_decision:
        raise Unsuccessful()


def _verdict(allow: bool) -> str:
    return "ALLOW" if allow else "DENY"
