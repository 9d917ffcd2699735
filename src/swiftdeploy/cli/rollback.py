from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    dry_run_option,
    json_option,
    open_deployment,
    print_outcome,
    print_plan,
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
    if dry_run:
        from swiftdeploy.plan import plan_rollback

        print_plan(ctx, plan_rollback(deployment), as_json=as_json)
        return
    from swiftdeploy.release import rollback

    print_outcome(rollback(deployment), as_json=as_json)
