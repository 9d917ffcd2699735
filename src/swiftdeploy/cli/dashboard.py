from __future__ import annotations

import click

from swiftdeploy.cli._common import FiniteFloatRange, open_deployment


def ip_address(value: str | None) -> str | None:
    """--bind, checked when the arguments are parsed: an IPv4 or IPv6 address."""
    import ipaddress

    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise click.BadParameter(f"not an IP address: {value!r}") from None


@click.command("dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: 8090.")
@click.option(
    "--bind",
    default=None,
    callback=lambda ctx, param, value: ip_address(value),
    help="Address to listen on (default 127.0.0.1).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option(
    "--read-only", "read_only", flag_value=True, default=None, help="Serve no controls at all."
)
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.5, max=60.0),
    default=2.0,
    show_default=True,
    help="Seconds between samples.",
)
@click.pass_context
def command(
    ctx: click.Context,
    port: int | None,
    bind: str | None,
    open_browser: bool,
    read_only: bool | None,
    interval: float,
) -> None:
    """Serve a live release dashboard on 127.0.0.1 (controls need the dashboard token)."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.dashboard.server import Settings, serve
    from swiftdeploy.dashboard.supervise import prepare

    prepared = prepare(open_deployment(ctx), port=port, bind=bind, read_only=read_only)
    out = console()
    if prepared.warning:
        out.warning(prepared.warning)
    out.step(f"Dashboard on {prepared.url} (Ctrl+C stops it)")
    if prepared.read_only:
        out.info("read-only: no controls are served")
    else:
        out.info(f"controls need the token in {prepared.token_path}")
    if open_browser:
        import webbrowser

        fragment = f"#token={prepared.token}" if prepared.token else ""
        webbrowser.open(prepared.url + fragment)
    settings = Settings(
        manifest_path=prepared.manifest_path,
        bind=prepared.bind,
        port=prepared.port,
        read_only=prepared.read_only,
        token=prepared.token,
        interval_s=interval,
    )
    serve(settings)
