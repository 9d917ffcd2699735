"""`swiftdeploy init [--check]`."""

from __future__ import annotations

import click

from swiftdeploy.cli.context import manifest_path_from


@click.command("init")
@click.option(
    "--check",
    is_flag=True,
    help="Only compare the generated files with the manifest; exit 1 and show a diff on drift.",
)
@click.pass_context
def command(ctx: click.Context, check: bool) -> None:
    """Render nginx.conf, docker-compose.yml and policies/ from the manifest."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.errors import ExitCode
    from swiftdeploy.init import init_project

    out = console()
    manifest_path = manifest_path_from(ctx)
    result = init_project(manifest_path, check=check)
    root = result.project.root
    if check:
        out.step("Checking generated files against the manifest")
        for path in result.generated:
            if path in result.drift:
                out.failed(f"{path.relative_to(root)} differs from its rendering")
            else:
                out.passed(f"{path.relative_to(root)} is up to date")
        for diff in result.drift.values():
            out.out.print(diff, markup=False, highlight=False, end="")
        if result.drift:
            out.info("run `swiftdeploy init` to regenerate")
            raise SystemExit(int(ExitCode.FAILURE))
        return
    out.step("Initialising")
    if result.wrote_starter:
        out.info(
            f"wrote a starter {manifest_path.name} (edit it, then run `swiftdeploy init` again)"
        )
    for path in result.generated:
        note = "" if path in result.changed else " (unchanged)"
        out.info(f"generated {path.relative_to(root)}{note}")
    if result.copied_policies:
        out.info("copied the default policies to policies/")
