from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    dry_run_option,
    json_option,
    open_deployment,
    policy_unavailable_option,
    print_result,
    runtime_option,
)


@click.command("deploy")
@runtime_option
@policy_unavailable_option
@dry_run_option
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    runtime_name: str | None,
    policy_unavailable: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Check the infrastructure policy, start the stack and wait until it is healthy."""
    deployment = open_deployment(ctx, runtime_name, policy_unavailable, as_json=as_json)
    from swiftdeploy.release import deploy_command

    print_result(deploy_command(deployment, dry_run=dry_run), as_json=as_json)
