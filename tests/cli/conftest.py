"""The `cli` fixture: run the CLI in a fresh project folder and get its normalised output.

Tests here compare the whole of stdout and stderr to a text written in the test; the
fixture replaces only what differs between runs (see cli_support.normalise).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from cli_support import Cli, Output


@pytest.fixture
def cli(tmp_path: Path, port: int) -> Cli:
    return Cli(tmp_path, port)


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """`Output == (code, stdout, stderr)`: show a line diff per stream, not two long reprs."""
    if op != "==" or not isinstance(left, Output) or not isinstance(right, tuple):
        return None
    if len(right) != len(Output._fields):
        return None
    lines = ["CLI output differs:"]
    for name, got, want in zip(Output._fields, left, right, strict=True):
        if got == want:
            continue
        if isinstance(got, str) and isinstance(want, str):
            diff = difflib.unified_diff(
                want.splitlines(), got.splitlines(), "expected", "actual", n=2, lineterm=""
            )
            lines.extend([f"{name}:", *(f"  {line}" for line in diff)])
        else:
            lines.append(f"{name}: expected {want!r}, got {got!r}")
    return lines
