"""Fuzzed CLI arguments: every argument is checked when it is parsed, before anything runs.

Each option is parsed by Click exactly as the CLI does (`make_context` runs the type
conversions and callbacks but not the command), so an argument that would be refused is
refused before any file, process or history line is touched. An option that stands for a
manifest field goes through that field's own validator: it is accepted exactly when the
field would accept the value. Numbers are finite and in range; no string with a control
character reaches a command.
"""

from __future__ import annotations

import math
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swiftdeploy.cli.main import COMMANDS, cli
from swiftdeploy.manifest import check_field

HOSTILE = [
    "",
    " ",
    "../../../../evil",
    "2.0;rm -rf /",
    "1.0\r\nX-Injected: 1",
    "1.0\n",
    "$(id)",
    "`id`",
    "a b",
    "\x00",
    "\x1b[31m",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1",
    "0",
    "9" * 5000,
    "0x" + "f" * 5000,
    "1.0.0",
    "2.0.1-rc.1+build.7",
]
# option -> the manifest field it stands for
FIELD_OPTIONS: dict[tuple[str, str], str] = {
    ("promote", "--version"): "services.version",
    ("demo-service", "--app-version"): "services.version",
    ("demo-service", "--port"): "services.port",
    ("promote", "--set-weight"): "canary.weight",
    ("policy eval", "--port"): "policy.opa_port",
    ("policy eval", "--timeout"): "policy.timeout_s",
}
REQUIRED_ARGS: dict[str, list[str]] = {
    "promote": ["canary"],
    "chaos": ["slow"],
    "policy eval": ["infra", "--input", "-"],
    "render": ["--target", "kubernetes"],
}


def _commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                sub_command = command.get_command(ctx, sub)
                assert sub_command is not None
                found[f"{name} {sub}"] = sub_command
        else:
            found[name] = command
    return found


COMMAND_OBJECTS = _commands()
VALUE_OPTIONS = [
    (name, param)
    for name, command in COMMAND_OBJECTS.items()
    for param in command.params
    if isinstance(param, click.Option)
    and not param.is_flag
    and not isinstance(param.type, click.Choice | click.File | click.Path)
]


def _parse(name: str, option: click.Option, value: str) -> tuple[bool, Any]:
    """(accepted, parsed value) for `swiftdeploy NAME OPTION=VALUE`, parsing only."""
    command = COMMAND_OBJECTS[name]
    args = [*REQUIRED_ARGS.get(name, []), f"{option.opts[0]}={value}"]
    try:
        ctx = command.make_context(name, args, resilient_parsing=False)
    except click.ClickException:
        return False, None
    return True, ctx.params[option.name or ""]


def _field_accepts(field: str, value: Any) -> bool:
    try:
        check_field(field, value)
    except ValueError:
        return False
    return True


def test_every_value_option_is_covered() -> None:
    assert len(VALUE_OPTIONS) >= 10
    names = {(name, param.opts[0]) for name, param in VALUE_OPTIONS}
    assert set(FIELD_OPTIONS) <= names


def _check(name: str, option: click.Option, value: str) -> None:
    accepted, parsed = _parse(name, option, value)
    field = FIELD_OPTIONS.get((name, option.opts[0]))
    if field is not None and accepted:
        assert _field_accepts(field, parsed), (name, option.opts[0], value, parsed)
    if field is not None and isinstance(parsed, str):
        assert accepted == _field_accepts(field, value), (name, option.opts[0], value)
    if not accepted:
        return
    if isinstance(parsed, float):
        assert math.isfinite(parsed), (name, option.opts[0], value)
    if isinstance(parsed, str):
        assert parsed.isprintable(), (name, option.opts[0], value)


@pytest.mark.parametrize(
    ("name", "option"), VALUE_OPTIONS, ids=[f"{n}:{o.opts[0]}" for n, o in VALUE_OPTIONS]
)
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_argument_is_refused_or_passes_its_field_validator(
    name: str, option: click.Option, value: str
) -> None:
    _check(name, option, value)


@given(
    case=st.sampled_from(VALUE_OPTIONS),
    value=st.one_of(
        st.text(max_size=40),
        st.sampled_from(HOSTILE),
        st.floats().map(repr),
        st.integers().map(str),
    ),
)
def test_fuzzed_argument_is_refused_or_passes_its_field_validator(
    case: tuple[str, click.Option], value: str
) -> None:
    if "\x00" in value:
        value = value.replace("\x00", "")  # argv cannot carry NUL bytes
    _check(case[0], case[1], value)
