"""What the lifecycle verbs share: opening the deployment and printing its outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from swiftdeploy.cli.console import console
from swiftdeploy.cli.main import manifest_path_from
from swiftdeploy.errors import ExitCode

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment, Outcome
    from swiftdeploy.plan import Plan


def manifest_field(field: str) -> Any:
    """A Click callback checking an option with the manifest field it stands for."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        # Imported only for a value given: the demo service's image has no pydantic, and
        # it starts through this CLI with its settings in the environment, not in options.
        from swiftdeploy.manifest import check_field

        try:
            return check_field(field, value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return check


def timestamp(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Click callback: an RFC 3339 time, checked when the arguments are parsed."""
    from swiftdeploy.errors import HistoryError
    from swiftdeploy.history import parse_ts

    if value is None:
        return None
    try:
        parse_ts(value)
    except HistoryError as exc:
        raise click.BadParameter(exc.message) from None
    if not value.isprintable():
        raise click.BadParameter(f"not an RFC 3339 timestamp: {value!r}")
    return value


def printable(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Click callback: a free-form string with no control characters (CR/LF, ESC, ...)."""
    if value is not None and (not value or not value.isprintable()):
        raise click.BadParameter(f"must be non-empty printable text (got {value!r})")
    return value


def chain_head(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, str] | str | None:
    """`--head` alone (""), or `--head SEQ:HASH` parsed, checked when the arguments are."""
    import re

    if not value:
        return value
    match = re.fullmatch(r"([0-9]{1,18}):([0-9a-f]{64})", value.strip())
    if match is None:
        raise click.BadParameter(f"not a chain head SEQ:HASH as `audit --head` prints ({value!r})")
    return int(match[1]), match[2]


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf (Click's range lets nan through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        converted = super().convert(value, param, ctx)
        if not math.isfinite(converted):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return converted


runtime_option = click.option(
    "--runtime",
    "runtime_name",
    type=click.Choice(["local", "compose", "swarm"]),
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


def print_outcome(outcome: Outcome, *, as_json: bool) -> None:
    """Print what a command did; exit 1 when it ran but the release did not happen."""
    if as_json:
        console().json(
            {
                "action": outcome.action,
                "changed": outcome.changed,
                "succeeded": outcome.succeeded,
                "summary": outcome.summary,
                **outcome.details,
            }
        )
    elif outcome.succeeded:
        console().success(outcome.summary)
    else:
        console().failure(outcome.summary)
    if not outcome.succeeded:
        raise click.exceptions.Exit(int(ExitCode.FAILURE))


dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Show the file diff and the policy decision; change nothing."
)


def print_plan(ctx: click.Context, plan: Plan, *, as_json: bool) -> None:
    """Print a dry run; exit 1 if the policy would deny, 3 if it could not answer."""
    out = console()
    if as_json:
        out.json(plan.to_json())
    else:
        out.step(f"Dry run: {plan.action} (nothing is changed)")
        for step in plan.steps:
            out.info(f"would {step}")
        for name, diff in plan.diffs.items():
            out.step(f"{name} would change")
            out.out.print(diff, markup=False, highlight=False, end="")
        if not plan.diffs:
            out.info("no file would change")
        if plan.domain is not None:
            out.step(f"Policy {plan.domain} would answer")
            if plan.unavailable:
                out.tag("UNAVAILABLE", plan.unavailable, style="red")
            elif plan.allow:
                out.tag("PASS", "allowed", style="green")
            for reason in plan.reasons:
                out.tag("DENY", reason, style="red")
    if plan.unavailable:
        ctx.exit(3)
    if plan.allow is False:
        ctx.exit(1)
