"""The options and argument checks the verbs share (Click callbacks and types)."""

from __future__ import annotations

import shlex
from typing import Any

import click

from swiftdeploy.runtime.registry import RUNTIME_NAMES


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


def command_line(field: str) -> Any:
    """A Click callback: a command line split as a shell would split it (no shell ever runs
    it), then checked as the manifest field it stands for."""
    as_field = manifest_field(field)

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise click.BadParameter(f"{exc} in {value!r}") from None
        checked = as_field(ctx, param, argv)
        return tuple(checked)

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
    type=click.Choice(RUNTIME_NAMES),
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
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Show the file diff and the policy decision; change nothing."
)
