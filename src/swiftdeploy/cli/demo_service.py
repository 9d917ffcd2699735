"""`swiftdeploy demo-service`: run the instrumented demo service in the foreground."""

from __future__ import annotations

import os
import sys

import click

from swiftdeploy.cli._common import manifest_field, printable


@click.command("demo-service")
@click.option("--mode", type=click.Choice(["stable", "canary"]), help="Overrides MODE.")
@click.option(
    "--app-version",
    callback=manifest_field("services.version"),
    help="Overrides APP_VERSION.",
)
@click.option("--host", callback=printable, help="Overrides APP_HOST (TCP only).")
@click.option(
    "--port", type=int, callback=manifest_field("services.port"), help="Overrides APP_PORT."
)
@click.option(
    "--socket",
    "socket_path",
    callback=printable,
    help="Overrides APP_SOCKET: listen on this Unix socket.",
)
@click.option(
    "--server",
    type=click.Choice(["granian", "uvicorn"]),
    default="granian",
    show_default=True,
    help="ASGI server.",
)
@click.option("--openapi", is_flag=True, help="Print the OpenAPI document and exit.")
def command(
    mode: str | None,
    app_version: str | None,
    host: str | None,
    port: int | None,
    socket_path: str | None,
    server: str,
    openapi: bool,
) -> None:
    """Run the demo service until SIGTERM (configuration from the environment)."""
    if openapi:
        from swiftdeploy.demo.openapi import spec_bytes

        sys.stdout.buffer.write(spec_bytes())
        sys.stdout.flush()
        return
    from swiftdeploy.demo.server import serve
    from swiftdeploy.demo.settings import Settings

    env = dict(os.environ)
    overrides = {
        "MODE": mode,
        "APP_VERSION": app_version,
        "APP_HOST": host,
        "APP_PORT": None if port is None else str(port),
        "APP_SOCKET": socket_path,
    }
    env.update({key: value for key, value in overrides.items() if value is not None})
    serve(Settings.from_env(env), server="uvicorn" if server == "uvicorn" else "granian")
