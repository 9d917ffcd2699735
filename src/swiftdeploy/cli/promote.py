from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    json_option,
    open_deployment,
    policy_unavailable_option,
    print_outcome,
    runtime_option,
)


@click.command("promote")
@click.argument("target", type=click.Choice(["canary", "stable"]))
@click.option("--version", "version", default=None, help="Version for a new canary.")
@click.option(
    "--window",
    "window_s",
    type=click.FloatRange(min=0.0, max=3600.0),
    default=None,
    help="Seconds of canary traffic the gate judges (default: canary.window_s, 30).",
)
@runtime_option
@policy_unavailable_option
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    target: str,
    version: str | None,
    window_s: float | None,
    runtime_name: str | None,
    policy_unavailable: str | None,
    as_json: bool,
) -> None:
    """Start a canary beside stable, or make the canary stable once its metrics pass the policy."""
    from swiftdeploy.release import promote_canary, promote_stable

    deployment = open_deployment(ctx, runtime_name, policy_unavailable)
    if target == "canary":
        outcome = promote_canary(deployment, version=version)
    else:
        outcome = promote_stable(deployment, window_s=window_s)
    print_outcome(outcome, as_json=as_json)
