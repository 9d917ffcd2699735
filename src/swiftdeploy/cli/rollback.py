from __future__ import annotations

import click

from swiftdeploy.cli._common import json_option, open_deployment, print_outcome, runtime_option


@click.command("rollback")
@runtime_option
@json_option
@click.pass_context
def command(ctx: click.Context, runtime_name: str | None, as_json: bool) -> None:
    """Send all traffic back to stable and stop the canary (no gate)."""
    from swiftdeploy.release import rollback

    print_outcome(rollback(open_deployment(ctx, runtime_name)), as_json=as_json)
