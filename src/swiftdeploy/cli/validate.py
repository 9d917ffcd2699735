"""`swiftdeploy validate [--json]`."""

from __future__ import annotations

import click

from swiftdeploy.cli.context import manifest_path_from


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """Run the pre-flight checks and report each as PASS/FAIL; exit 1 if any fails."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.errors import ExitCode
    from swiftdeploy.validate import validate

    out = console()
    results = validate(manifest_path_from(ctx))
    passed = sum(result.passed for result in results)
    failed = len(results) - passed
    if as_json:
        out.json(
            {
                "checks": [result.as_dict() for result in results],
                "passed": passed,
                "failed": failed,
            }
        )
    else:
        out.step("Running pre-flight checks")
        for result in results:
            (out.passed if result.passed else out.failed)(result.message)
            for detail in result.details:
                out.info(f"    {detail}")
        out.out.print()
        out.info(f"Results: {passed} passed, {failed} failed")
    if failed:
        raise SystemExit(int(ExitCode.FAILURE))
