"""Bad command lines: Click's usage block with one `Error:` line, exit 2, nothing on stdout;
and the top-level help at the fixed width."""

from __future__ import annotations

from textwrap import dedent

import pytest

from cli_support import Cli


def _usage(usage: str, helper: str, error: str) -> str:
    return f"Usage: {usage}\nTry '{helper} --help' for help.\n\nError: {error}\n"


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["frobnicate"], "swiftdeploy [OPTIONS] COMMAND [ARGS]...",
         "No such command 'frobnicate'."),
        (["deploy", "--bogus"], "swiftdeploy deploy [OPTIONS]", "No such option '--bogus'."),
        (["validate", "--bogus"], "swiftdeploy validate [OPTIONS]", "No such option '--bogus'."),
        (["promote", "bogus"], "swiftdeploy promote [OPTIONS] [canary|stable]",
         "Invalid value for '[canary|stable]': 'bogus' is not one of 'canary', 'stable'."),
        (["promote"], "swiftdeploy promote [OPTIONS] [canary|stable]",
         "give either TARGET (canary|stable) or one rollout control flag"),
        (["promote", "--pause", "--dry-run"], "swiftdeploy promote [OPTIONS] [canary|stable]",
         "--dry-run applies to 'promote canary|stable'"),
        (["promote", "canary", "--set-weight", "101"],
         "swiftdeploy promote [OPTIONS] [canary|stable]",
         "Invalid value for '--set-weight': 101 is not in the range 0<=x<=100."),
        (["audit", "--since", "yesterday"], "swiftdeploy audit [OPTIONS]",
         "Invalid value for '--since': not an RFC 3339 timestamp: 'yesterday'"),
        (["audit", "--verify", "--head", "1:zz"], "swiftdeploy audit [OPTIONS]",
         "Invalid value for '--head': not a chain head SEQ:HASH as `audit --head` prints "
         "('1:zz')"),
        (["status", "--interval", "-1"], "swiftdeploy status [OPTIONS]",
         "Invalid value for '--interval': -1.0 is not in the range 0.2<=x<=3600.0."),
        (["dashboard", "--bind", "my-laptop"], "swiftdeploy dashboard [OPTIONS]",
         "Invalid value for '--bind': not an IP address: 'my-laptop'"),
        (["policy", "bogus"], "swiftdeploy policy [OPTIONS] COMMAND [ARGS]...",
         "No such command 'bogus'."),
    ],
)  # fmt: skip
def test_a_bad_command_line_exits_2_with_its_one_error(
    cli: Cli, args: list[str], usage: str, error: str
) -> None:
    helper = usage.split(" [", 1)[0]
    assert cli(*args) == (2, "", _usage(usage, helper, error))


def test_top_level_help(cli: Cli) -> None:
    # Click wraps help at min(COLUMNS, 80) - 2: COLUMNS=100 makes the wrapping fixed.
    help_text = dedent("""\
        Usage: swiftdeploy [OPTIONS] COMMAND [ARGS]...

          SwiftDeploy: one manifest, policy-gated zero-downtime releases.

        Options:
          --version            Show the version and exit.
          -f, --manifest FILE  The manifest; generated files and state live beside it.
                               [default: manifest.yaml]
          -h, --help           Show this message and exit.

        Commands:
          audit         Verify the history and write audit_report.md.
          chaos         Inject or clear chaos on the running canary.
          dashboard     Serve a live web dashboard of tracks, rollout, decisions and
                        history.
          demo-service  Run the instrumented demo service.
          deploy        Check the infrastructure policy, start the stack, wait until
                        healthy.
          init          Render nginx.conf, docker-compose.yml and policies from the
                        manifest.
          policy        Test and evaluate the Rego policies.
          promote       Move traffic to the canary or make the canary stable (policy-
                        gated).
          render        Render files for another target (e.g. --target kubernetes).
          rollback      Send all traffic back to stable and stop the canary.
          schema        Print the manifest's JSON Schema.
          status        Live dashboard of throughput, P99, error rate and policy
                        compliance.
          teardown      Stop everything this deployment started.
          validate      Run the pre-flight checks and report each as PASS/FAIL.
    """)
    assert cli("--help") == (0, help_text, "")
