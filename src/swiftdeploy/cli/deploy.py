from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    json_option,
    open_deployment,
    policy_unavailable_option,
    print_outcome,
    runtime_option,
)


@click.command("deploy")
@runtime_option
@policy_unavailable_option
@json_option
@click.pass_context
def command(
    ctx: click.Context, runtime_name: str | None, policy_unavailable: str | None, as_json: bool
) -> None:
    """Check the infrastructure policy, start the stack and wait until it is healthy."""
    from swiftdeploy.release import deploy

    print_outcome(deploy(open_deployment(ctx, runtime_name, policy_unavailable)), as_json=as_json)
