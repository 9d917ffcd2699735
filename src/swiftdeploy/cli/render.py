"""`swiftdeploy render --target kubernetes [--out DIR] [--traffic nginx|gateway] [--check]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from swiftdeploy.cli._common import printable
from swiftdeploy.cli.context import manifest_path_from


@click.command("render")
@click.option("--target", type=click.Choice(["kubernetes"]), required=True,
              help="What to render for.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: k8s/ beside the manifest).")  # fmt: skip
@click.option("--namespace", default="swiftdeploy", show_default=True, callback=printable,
              help="Namespace of every object (also in the Services' DNS names).")  # fmt: skip
@click.option("--traffic", type=click.Choice(["nginx", "gateway"]), default="nginx",
              show_default=True,
              help="Split traffic by an nginx Deployment or an HTTPRoute.")  # fmt: skip
@click.option("--check", is_flag=True,
              help="Run the Kubernetes hardening policy on the written files; exit 1 if it "
                   "denies.")  # fmt: skip
@click.pass_context
def command(
    ctx: click.Context, target: str, out: Path | None, namespace: str, traffic: str, check: bool
) -> None:
    """Render files for another target from the manifest (nothing is applied)."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.kubernetes.documents import load_documents, yaml_files
    from swiftdeploy.kubernetes.write import write_kubernetes

    con = console()
    result = write_kubernetes(
        manifest_path_from(ctx),
        out=out,
        namespace=namespace,
        traffic="gateway" if traffic == "gateway" else "nginx",
    )
    con.step(f"Rendering Kubernetes manifests into {result.out}")
    for path in sorted([*result.written, *result.unchanged]):
        con.tag("WROTE" if path in result.written else "SAME", str(path))
    for path in result.removed:
        con.tag("REMOVED", str(path))
    if check:
        report_hardening(load_documents(yaml_files(result.out)), str(result.out))


def report_hardening(objects: list[dict[str, Any]], where: str) -> None:
    """Print the hardening policy's verdict; PolicyDenied (exit 1) with the reasons."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.errors import PolicyDenied
    from swiftdeploy.kubernetes.hardening import check_hardening

    con = console()
    con.step(f"Checking Kubernetes hardening policy on {where}")
    decision = check_hardening(objects)
    for reason in decision.deny:
        con.failed(reason)
    if not decision.allow:
        raise PolicyDenied(
            f"Kubernetes hardening policy denied {len(decision.deny)} finding(s) in {where}",
            reasons=decision.deny,
        )
    con.passed(
        f"Kubernetes hardening policy ({len(objects)} objects, {len(decision.checks)} rules)"
    )
