"""`swiftdeploy schema`: the manifest's JSON Schema (the same text as manifest.schema.json)."""

from __future__ import annotations

import click


@click.command("schema")
def command() -> None:
    """Print the manifest's JSON Schema."""
    from swiftdeploy.manifest import schema_text

    click.echo(schema_text(), nl=False)
