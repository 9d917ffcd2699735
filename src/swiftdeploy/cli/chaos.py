from __future__ import annotations

import click

from swiftdeploy.cli._common import FiniteFloatRange, json_option, open_deployment, print_outcome


@click.command("chaos")
@click.argument("mode", type=click.Choice(["slow", "error", "recover"]))
@click.option(
    "--duration",
    type=FiniteFloatRange(min=0.0, max=60.0, min_open=True),
    default=None,
    help="slow: seconds each request sleeps.",
)
@click.option(
    "--rate",
    type=FiniteFloatRange(0.0, 1.0),
    default=None,
    help="error: fraction of requests answered 500.",
)
@click.option(
    "--ttl",
    type=FiniteFloatRange(min=0.0, min_open=True),
    default=None,
    help="End the chaos by itself after this many seconds.",
)
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    mode: str,
    duration: float | None,
    rate: float | None,
    ttl: float | None,
    as_json: bool,
) -> None:
    """Inject slowness or errors into the canary, or recover it."""
    from swiftdeploy.chaos import chaos_request, send_chaos

    body = chaos_request(mode, duration=duration, rate=rate, ttl=ttl)
    print_outcome(send_chaos(open_deployment(ctx, as_json=as_json), body), as_json=as_json)
