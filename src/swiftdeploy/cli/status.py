from __future__ import annotations

import sys
from dataclasses import asdict

import click

from swiftdeploy.cli._common import FiniteFloatRange, json_option, open_deployment, runtime_option
from swiftdeploy.errors import Unsuccessful


@click.command("status")
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.2, max=3600.0),
    default=5.0,
    show_default=True,
    help="Seconds between samples (each sample covers one interval).",
)
@click.option("--once", is_flag=True, help="Print one sample and exit.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N samples.")
@runtime_option
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    interval: float,
    once: bool,
    count: int | None,
    runtime_name: str | None,
    as_json: bool,
) -> None:
    """Live dashboard; every sample is appended to history.jsonl. Ctrl+C exits."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.status import samples
    from swiftdeploy.status_view import render, render_lines

    deployment = open_deployment(ctx, runtime_name)
    out = console().out
    live = None
    if out.is_terminal and not as_json and not once:
        from rich.live import Live

        live = Live(console=out, auto_refresh=False, transient=False)
        live.start()
    sample = None
    try:
        for sample in samples(deployment, interval, limit=1 if once else count):
            if as_json:
                console().json(asdict(sample))
            elif live is not None:
                live.update(render(sample), refresh=True)
            else:
                sys.stdout.write("\n".join(render_lines(sample)) + "\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.stop()
    if once and sample is not None and sample.mode == "down":
        # A script running `status --once` learns "nothing serves" from the exit code.
        raise Unsuccessful()
