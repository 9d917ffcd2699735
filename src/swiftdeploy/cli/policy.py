"""`swiftdeploy policy test|eval`: run the Rego unit tests, or ask for one decision."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from swiftdeploy.cli._common import manifest_field, printable
from swiftdeploy.cli.context import manifest_path_from
from swiftdeploy.errors import PolicyDenied


@click.group(name="policy")
def command() -> None:
    """Test and evaluate the Rego policies."""


@command.command("test")
@click.pass_context
def test_cmd(ctx: click.Context) -> None:
    """Run `opa test -v` on the policies (the shipped ones when policies/ is missing)."""
    from swiftdeploy.policy.commands import PolicyTestsFailed, run_tests

    try:
        result = run_tests(manifest_path_from(ctx))
    except PolicyTestsFailed as exc:
        sys.stdout.write(exc.run.stdout)
        sys.stderr.write(exc.run.stderr)
        raise
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)


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
    from swiftdeploy.cli.policy_output import eval_denied
    from swiftdeploy.policy.commands import EvalRequest, evaluate

    request = EvalRequest(domain, input_file.read(), engine, url, port, timeout_s)
    decision = evaluate(manifest_path_from(ctx), request)
    console().json(decision.to_json())
    if not decision.allow:
        # An exception rather than ctx.exit(1): main() runs Click with standalone_mode=False,
        # which turns ctx.exit's code into a return value it does not pass on.
        raise PolicyDenied(
            eval_denied(domain), domain=domain, reasons=decision.deny, input=decision.input
        )


@command.command("check-k8s")
@click.argument("folder", type=click.Path(path_type=Path))
def check_k8s_cmd(folder: Path) -> None:
    """Run the Kubernetes hardening policy on every .yaml file in FOLDER; exit 1 if it denies."""
    from swiftdeploy.cli.render import report_hardening
    from swiftdeploy.kubernetes.documents import load_documents, yaml_files

    report_hardening(load_documents(yaml_files(folder)), str(folder))
