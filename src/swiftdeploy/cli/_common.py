"""What the lifecycle verbs share: opening the deployment and printing its result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from swiftdeploy.cli.console import console
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.cli.options import (
    FiniteFloatRange,
    chain_head,
    command_line,
    dry_run_option,
    json_option,
    manifest_field,
    policy_unavailable_option,
    printable,
    runtime_option,
    timestamp,
)
from swiftdeploy.cli.output import print_outcome, print_plan, print_result

# The shared options are re-exported: the verbs import everything they share from here.
__all__ = [
    "FiniteFloatRange",
    "chain_head",
    "command_line",
    "dry_run_option",
    "json_option",
    "manifest_field",
    "open_deployment",
    "policy_unavailable_option",
    "print_outcome",
    "print_plan",
    "print_result",
    "printable",
    "runtime_option",
    "timestamp",
]

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment


def open_deployment(
    ctx: click.Context,
    runtime_name: str | None = None,
    policy_unavailable: str | None = None,
    *,
    as_json: bool = False,
) -> Deployment:
    from swiftdeploy.lifecycle import Deployment

    return Deployment.open(
        manifest_path_from(ctx),
        reporter=console(progress_to_stderr=as_json),
        runtime_name=runtime_name,
        policy_override=policy_unavailable,
    )
