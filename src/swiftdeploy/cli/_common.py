"""What the lifecycle verbs share: opening the deployment and printing its outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from swiftdeploy.cli.console import console
from swiftdeploy.cli.main import manifest_path_from

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment, Outcome

runtime_option = click.option(
    "--runtime",
    "runtime_name",
    type=click.Choice(["local", "compose"]),
    default=None,
    help="Override the manifest's runtime.",
)
policy_unavailable_option = click.option(
    "--policy-unavailable",
    type=click.Choice(["deny", "allow"]),
    default=None,
    help="What to do when the policy engine cannot answer (default: deny). 'allow' is audited.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def open_deployment(
    ctx: click.Context, runtime_name: str | None = None, policy_unavailable: str | None = None
) -> Deployment:
    from swiftdeploy.lifecycle import Deployment

    return Deployment.open(
        manifest_path_from(ctx),
        reporter=console(),
        runtime_name=runtime_name,
        policy_override=policy_unavailable,
    )


def print_outcome(outcome: Outcome, *, as_json: bool) -> None:
    if as_json:
        console().json(
            {
                "action": outcome.action,
                "changed": outcome.changed,
                "summary": outcome.summary,
                **outcome.details,
            }
        )
    else:
        console().success(outcome.summary)
