"""The console takes its width and colour from the environment run_cli fixes, so the exact
comparisons elsewhere in tests/cli hold on any host (Rich reads COLUMNS and NO_COLOR)."""

from __future__ import annotations

import os

import pytest

from cli_support import CLI_ENV, cli_env
from swiftdeploy.cli.console import Console


def test_the_fixed_environment_gives_100_columns_and_no_colour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # as some CI hosts set it: cli_env drops it
    monkeypatch.setenv("COLUMNS", "37")
    env = cli_env()
    for key in set(os.environ) - set(env):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert {key: os.environ[key] for key in CLI_ENV} == CLI_ENV
    console = Console()
    for rich in (console.out, console.err):
        assert rich.width == 100
        assert rich.no_color
        assert rich.color_system is None
    console.passed("x" * 150)  # soft wrap: a long line is never broken
    console.warning("careful")
    assert capsys.readouterr() == ("  [PASS] " + "x" * 150 + "\n", "warning: careful\n")
