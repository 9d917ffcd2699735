"""Entry point: a Click group whose subcommands are imported only when invoked.

Each verb lives in `swiftdeploy.cli.<verb>` and exposes a Click command named
`command`; keeping imports lazy is what keeps `swiftdeploy --help` fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from swiftdeploy import __version__
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.cli.verbs import COMMANDS
from swiftdeploy.errors import ExitCode, SwiftDeployError

__all__ = ["COMMANDS", "cli", "main", "manifest_path_from"]  # manifest_path_from: re-export


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="swiftdeploy")
@click.option(
    "-f",
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("manifest.yaml"),
    show_default=True,
    envvar="SWIFTDEPLOY_MANIFEST",
    help="The manifest; generated files and state live beside it.",
)
@click.pass_context
def cli(ctx: click.Context, manifest_path: Path) -> None:
    """SwiftDeploy: one manifest, policy-gated zero-downtime releases."""
    ctx.obj = manifest_path


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; SwiftDeployError becomes a one-line message and its exit code."""
    try:
        # Without standalone mode, Click returns ctx.exit(n)'s code instead of exiting.
        status = cli.main(args=argv, prog_name="swiftdeploy", standalone_mode=False)
    except SwiftDeployError as exc:
        from swiftdeploy.cli.console import console
        from swiftdeploy.cli.policy_output import error_text

        if error_text(exc):  # an Unsuccessful verb has printed its result already
            console().report_error(exc)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:
        # A write the core did not wrap (a log, a report): still one line, never a traceback.
        from swiftdeploy.files import NO_SPACE

        if exc.errno not in NO_SPACE:
            raise
        from swiftdeploy.cli.console import console
        from swiftdeploy.errors import DiskFull

        where = f" {exc.filename}" if exc.filename else ""
        console().report_error(DiskFull(f"disk full: cannot write{where}: {exc.strerror}"))
        sys.exit(int(ExitCode.FAILURE))
    sys.exit(status if isinstance(status, int) else int(ExitCode.OK))
