from __future__ import annotations

import click

from swiftdeploy.cli._common import (
    FiniteFloatRange,
    command_line,
    dry_run_option,
    json_option,
    manifest_field,
    open_deployment,
    policy_unavailable_option,
    print_result,
    runtime_option,
)


@click.command("promote")
@click.argument("target", type=click.Choice(["canary", "stable"]), required=False)
@click.option(
    "--version",
    "version",
    default=None,
    callback=manifest_field("services.version"),
    help="Version for a new canary (written to services.version).",
)
@click.option(
    "--image",
    "image",
    default=None,
    callback=manifest_field("services.image"),
    help="Image for a new canary (written to services.image; stable keeps its own).",
)
@click.option(
    "--command",
    "command_argv",
    default=None,
    callback=command_line("local.command"),
    help="Command line for a new canary on the local runtime (split like a shell; written "
    "to local.command; stable keeps its own).",
)
@click.option(
    "--window",
    "window_s",
    type=FiniteFloatRange(min=0.0, max=3600.0),
    default=None,
    help="Seconds of canary traffic the gate judges (default: canary.window_s, 30).",
)
@click.option(
    "--progressive",
    is_flag=True,
    help="Walk canary.steps with an analysis per step (the default when steps are set).",
)
@click.option("--pause", "control", flag_value="pause", help="Pause the running rollout.")
@click.option("--resume", "control", flag_value="resume", help="Resume (or take over) a rollout.")
@click.option("--abort", "control", flag_value="abort", help="Abort the rollout: back to stable.")
@click.option(
    "--set-weight",
    type=click.IntRange(0, 100),
    default=None,
    help="Set the canary's share of traffic mid-rollout.",
)
@runtime_option
@policy_unavailable_option
@dry_run_option
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    target: str | None,
    version: str | None,
    image: str | None,
    command_argv: tuple[str, ...] | None,
    window_s: float | None,
    progressive: bool,
    control: str | None,
    set_weight: int | None,
    runtime_name: str | None,
    policy_unavailable: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Start a canary beside stable, or make the canary stable once its metrics pass the policy.

    With canary.steps (or --progressive), `promote canary` walks the steps, analysing
    each one, and promotes or rolls back by itself.
    """
    from swiftdeploy.errors import UsageError
    from swiftdeploy.promote import PromoteRequest, check, promote

    request = PromoteRequest(
        target, version, window_s, progressive, control, set_weight, dry_run, image, command_argv
    )
    try:
        check(request)
    except UsageError as exc:
        raise click.UsageError(exc.message) from None
    deployment = open_deployment(ctx, runtime_name, policy_unavailable, as_json=as_json)
    print_result(promote(deployment, request), as_json=as_json)
