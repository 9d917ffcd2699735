from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    dry_run_option,
    json_option,
    open_deployment,
    print_result,
    runtime_option,
)


@click.command("rollback")
@runtime_option
@dry_run_option
@json_option
@click.pass_context
def command(ctx: click.Context, runtime_name: str | None, dry_run: bool, as_json: bool) -> None:
    """Send all traffic back to stable and stop the canary (no gate)."""
    deployment = open_deployment(ctx, runtime_name, as_json=as_json)
    from swiftdeploy.release import rollback_command

    print_result(rollback_command(deployment, dry_run=dry_run), as_json=as_json)
