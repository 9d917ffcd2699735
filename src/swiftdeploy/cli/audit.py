"""`swiftdeploy audit`: write audit_report.md, verify the chain, or replay a decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from swiftdeploy.cli._common import chain_head, printable, timestamp
from swiftdeploy.cli.console import console, counted
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.errors import ExitCode, HistoryError, UsageError
from swiftdeploy.history import History, format_ts, parse_ts
from swiftdeploy.project import Project


@click.command("audit")
@click.option("--since", callback=timestamp, help="Only events at or after this RFC 3339 time.")
@click.option("--until", callback=timestamp, help="Only events at or before this RFC 3339 time.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints a machine-readable summary.",
)
@click.option("--verify", is_flag=True, help="Only check the hash chain (exit 1 on a bad line).")
@click.option(
    "--head",
    "head",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[SEQ:HASH]",
    callback=chain_head,
    help="Print the chain head (SEQ:HASH) to keep elsewhere; with --verify, check the "
    "file still holds the head given.",
)
@click.option(
    "--replay",
    "decision_id",
    metavar="DECISION_ID",
    callback=printable,
    help="Re-evaluate a recorded policy decision with today's policies.",
)
@click.pass_context
def command(
    ctx: click.Context,
    since: str | None,
    until: str | None,
    output_format: str,
    verify: bool,
    head: tuple[int, str] | str | None,
    decision_id: str | None,
) -> None:
    """Verify the history and write audit_report.md."""
    project = Project.at(manifest_path_from(ctx))
    history = History(project.history_path)
    as_json = output_format == "json"
    if verify:
        _verify(history, as_json=as_json, anchor=head if isinstance(head, tuple) else None)
        return
    if head is not None:
        if head != "":
            raise UsageError("--head SEQ:HASH is checked with --verify; --head alone prints it")
        _print_head(history, as_json=as_json)
        return
    if decision_id is not None:
        _replay(project, history, decision_id, as_json=as_json)
        return
    bounds = [_ts_option(name, value) for name, value in (("since", since), ("until", until))]
    from swiftdeploy.audit import run_audit

    result = run_audit(history, project.audit_report, since=bounds[0], until=bounds[1])
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


def _ts_option(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return format_ts(parse_ts(value))
    except HistoryError as exc:
        raise UsageError(f"--{name}: {exc.message}") from None


def _print_head(history: History, *, as_json: bool) -> None:
    head = history.chain_head()
    text = f"{head[0]}:{head[1]}" if head else ""
    if as_json:
        console().json({"head": text or None})
    elif head is None:
        console().info("the history is empty")
    else:
        click.echo(text)


def _verify(history: History, *, as_json: bool, anchor: tuple[int, str] | None = None) -> None:
    result = history.verify(anchor=anchor)
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
            raise click.exceptions.Exit(int(ExitCode.FAILURE))
        return
    if not result.ok:
        raise HistoryError(
            f"history does not verify: {history.path.name} {result.problem}",
            hint=f"{result.count} events before line {result.first_bad_line} are intact",
        )
    against = f", including the head {anchor[0]}:{anchor[1][:12]}…" if anchor else ""
    console().success(f"history verified: {result.count} events{against}")


def _replay(project: Project, history: History, decision_id: str, *, as_json: bool) -> None:
    from swiftdeploy.manifest import load_manifest
    from swiftdeploy.policy import engine_for
    from swiftdeploy.policy.replay import replay

    event = _find_decision(history, decision_id)
    manifest = load_manifest(project.manifest_path)
    engine = engine_for(manifest.policy, project.policies_dir)
    result = replay(event, engine)
    payload: dict[str, Any] = {
        "decision_id": decision_id,
        "domain": result.old.domain,
        "recorded": {"allow": result.old.allow, "reasons": result.old.deny, "ts": event["ts"]},
        "replayed": {"allow": result.new.allow, "reasons": result.new.deny},
        "same_decision": result.same_decision,
        "policy_digest_changed": result.digest_changed,
    }
    if as_json:
        console().json(payload)
    else:
        out = console()
        out.step(f"Replaying decision {decision_id} ({result.old.domain}, {event['ts']})")
        out.info(f"recorded: {_verdict(result.old.allow)} {'; '.join(result.old.deny)}".rstrip())
        out.info(f"replayed: {_verdict(result.new.allow)} {'; '.join(result.new.deny)}".rstrip())
        if result.digest_changed:
            out.info("the policies changed since the decision was recorded")
        if result.same_decision:
            out.success("same decision")
        else:
            out.tag("DIFF", "today's policies decide differently", style="red")
    if not result.same_decision:
        raise click.exceptions.Exit(int(ExitCode.FAILURE))


def _verdict(allow: bool) -> str:
    return "ALLOW" if allow else "DENY"


def _find_decision(history: History, decision_id: str) -> dict[str, Any]:
    for event in history.events():
        if event.get("type") == "policy_decision" and event.get("decision_id") == decision_id:
            return event
    raise UsageError(
        f"no policy_decision with id {decision_id} in {Path(history.path).name}",
        hint="decision ids are listed in audit_report.md and `--format json` output",
    )
