"""`swiftdeploy policy test|eval`: run the Rego unit tests, or ask for one decision."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from swiftdeploy.cli._common import manifest_field, printable
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.errors import PolicyDenied, SwiftDeployError, UsageError


def _policies_dir(ctx: click.Context) -> Path:
    """The project's policies/ folder, or the shipped defaults when there is none."""
    from swiftdeploy.policy.sources import defaults_dir
    from swiftdeploy.project import Project

    project_dir = Project.at(manifest_path_from(ctx)).policies_dir
    return project_dir if project_dir.is_dir() else defaults_dir()


@click.group(name="policy")
def command() -> None:
    """Test and evaluate the Rego policies."""


@command.command("test")
@click.pass_context
def test_cmd(ctx: click.Context) -> None:
    """Run `opa test -v` on the policies (the shipped ones when policies/ is missing)."""
    from swiftdeploy._process import run
    from swiftdeploy.policy.binary import find_opa

    result = run([find_opa(), "test", "-v", str(_policies_dir(ctx))], check=False, timeout=120)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SwiftDeployError(f"policy tests failed in {_policies_dir(ctx)}")


@command.command("eval")
@click.argument("domain")
@click.option("--input", "input_file", required=True, type=click.File("r"),
              help="JSON input document, or - for stdin.")  # fmt: skip
@click.option("--engine", type=click.Choice(["embedded", "opa"]), default="embedded",
              show_default=True)  # fmt: skip
@click.option(
    "--url",
    default=None,
    callback=printable,
    help="OPA server URL (default http://127.0.0.1:PORT).",
)
@click.option("--port", default=8181, show_default=True, type=int,
              callback=manifest_field("policy.opa_port"), help="OPA server port.")  # fmt: skip
@click.option("--timeout", "timeout_s", default=2.0, show_default=True, type=float,
              callback=manifest_field("policy.timeout_s"))  # fmt: skip
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    domain: str,
    input_file: Any,
    engine: str,
    url: str | None,
    port: int,
    timeout_s: float,
) -> None:
    """Print the decision for DOMAIN as JSON; exit 0 allow, 1 deny, 3 unavailable."""
    from swiftdeploy.cli.console import console
    from swiftdeploy.policy.embedded import EmbeddedEngine
    from swiftdeploy.policy.opa import OpaServerEngine

    try:
        document = json.load(input_file)
    except ValueError as exc:
        raise UsageError(f"--input is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UsageError("--input must hold a JSON object")
    policies = _policies_dir(ctx)
    if engine == "opa" and url:
        with OpaServerEngine(url, policies, timeout_s=timeout_s) as rest:
            decision = rest.evaluate(domain, document)
    elif engine == "opa":  # the project's own OPA, with its token
        from swiftdeploy.policy.engines import own_server_engine

        decision = own_server_engine(policies, port=port, timeout_s=timeout_s).evaluate(
            domain, document
        )
    else:
        decision = EmbeddedEngine(policies).evaluate(domain, document)
    console().json(decision.to_json())
    if not decision.allow:
        # An exception rather than ctx.exit(1): main() runs Click with standalone_mode=False,
        # which turns ctx.exit's code into a return value it does not pass on.
        raise PolicyDenied(f"denied by {domain} policy", reasons=decision.deny)


@command.command("check-k8s")
@click.argument("folder", type=click.Path(path_type=Path))
def check_k8s_cmd(folder: Path) -> None:
    """Run the Kubernetes hardening policy on every .yaml file in FOLDER; exit 1 if it denies."""
    from swiftdeploy.cli.render import report_hardening
    from swiftdeploy.render_k8s import load_documents, yaml_files

    report_hardening(load_documents(yaml_files(folder)), str(folder))
