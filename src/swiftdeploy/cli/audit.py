"""`swiftdeploy audit`: write audit_report.md, verify the chain, or replay a decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from swiftdeploy.cli._common import chain_head, printable, timestamp
from swiftdeploy.cli.audit_output import print_audit, print_head, print_replay, print_verify
from swiftdeploy.cli.context import manifest_path_from

if TYPE_CHECKING:
    from swiftdeploy.audit_run import AuditOutcome


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
    from swiftdeploy.audit_run import AuditRequest, run

    request = AuditRequest(since, until, verify, head, decision_id)
    _print(run(manifest_path_from(ctx), request), as_json=output_format == "json")


def _print(outcome: AuditOutcome, *, as_json: bool) -> None:
    """Print whichever of the four results `audit_run.run` returned."""
    if outcome.verified is not None:
        print_verify(outcome.history_name, outcome.verified, outcome.anchor, as_json=as_json)
    elif outcome.replayed is not None:
        print_replay(outcome.replayed, as_json=as_json)
    elif outcome.report is not None:
        print_audit(outcome.report, as_json=as_json)
    else:
        print_head(outcome.head, as_json=as_json)
