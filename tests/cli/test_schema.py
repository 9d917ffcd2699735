"""`swiftdeploy schema`: the shipped JSON Schema, byte for byte, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from cli_support import Cli

REPO = Path(__file__).resolve().parents[2]


def test_schema_prints_the_shipped_schema(cli: Cli) -> None:
    result = cli("schema")
    assert result == (0, (REPO / "manifest.schema.json").read_text(), "")
    assert json.loads(result.stdout)["title"] == "SwiftDeploy manifest"


def test_schema_starts_with_the_sorted_definitions(cli: Cli) -> None:
    first_lines = dedent("""\
        {
          "$defs": {
            "AnalysisSpec": {
              "additionalProperties": false,
              "description": "Where the gates' figures come from (docs/collector.md).",
              "properties": {
    """)
    stdout = cli("schema").stdout
    assert "".join(stdout.splitlines(keepends=True)[:6]) == first_lines


def test_schema_takes_no_arguments(cli: Cli) -> None:
    usage = dedent("""\
        Usage: swiftdeploy schema [OPTIONS]
        Try 'swiftdeploy schema --help' for help.

        Error: Got unexpected extra argument (extra)
    """)
    assert cli("schema", "extra") == (2, "", usage)
