from __future__ import annotations

import click

from swiftdeploy.cli._common import json_option, open_deployment, print_outcome, runtime_option


@click.command("teardown")
@click.option("--clean", is_flag=True, help="Also remove generated files and runtime state.")
@runtime_option
@json_option
@click.pass_context
def command(ctx: click.Context, clean: bool, runtime_name: str | None, as_json: bool) -> None:
    """Stop everything this deployment started; history.jsonl is always kept."""
    from swiftdeploy.release import teardown

    print_outcome(
        teardown(open_deployment(ctx, runtime_name, as_json=as_json), clean=clean), as_json=as_json
    )
