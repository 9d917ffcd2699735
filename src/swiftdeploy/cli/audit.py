"""`swiftdeploy audit`: write audit_report.md, verify the chain, or replay a decision."""

from __future__ import annotations

import click

from swiftdeploy.cli._common import chain_head, printable, timestamp
from swiftdeploy.cli.audit_output import print_audit, print_head, print_replay, print_verify
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.errors import UsageError
from swiftdeploy.history import History
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
        anchor = head if isinstance(head, tuple) else None
        print_verify(history, history.verify(anchor=anchor), anchor, as_json=as_json)
        return
    if head is not None:
        if head != "":
            raise UsageError("--head SEQ:HASH is checked with --verify; --head alone prints it")
        print_head(history.chain_head(), as_json=as_json)
        return
    if decision_id is not None:
        from swiftdeploy.audit_replay import replay_decision

        print_replay(replay_decision(project, history, decision_id), as_json=as_json)
        return
    from swiftdeploy.audit import run_audit
    from swiftdeploy.audit_replay import time_bound

    since, until = time_bound("since", since), time_bound("until", until)
    print_audit(run_audit(history, project.audit_report, since=since, until=until), as_json=as_json)
