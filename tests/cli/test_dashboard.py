"""`dashboard`'s refusals, with the exact one-line messages an operator sees."""

from __future__ import annotations

import socket
from textwrap import dedent

from cli_support import Cli


def test_bad_bind_address_is_a_usage_error(cli: Cli) -> None:
    cli.seed()
    usage = dedent("""\
        Usage: swiftdeploy dashboard [OPTIONS]
        Try 'swiftdeploy dashboard --help' for help.

        Error: Invalid value for '--bind': not an IP address: 'my-laptop'
    """)
    assert cli("dashboard", "--bind", "my-laptop") == (2, "", usage)


def test_a_port_in_use_is_refused_with_what_to_do(cli: Cli) -> None:
    cli.seed()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", cli.port))
        taken.listen()
        result = cli("dashboard", "--port", str(cli.port))
    refusal = dedent("""\
        error: cannot listen on 127.0.0.1:<port>: Address already in use
          hint: choose another port with --port
    """)
    assert result == (2, "", refusal)
    assert not (cli.root / ".swiftdeploy" / "dashboard.token").exists()


def test_a_bad_dashboard_section_names_the_field(cli: Cli) -> None:
    cli.seed()
    cli.manifest.write_text(cli.manifest.read_text() + "dashboard:\n  bind: localhost\n")
    problem = "error: manifest.yaml:15:9: dashboard.bind: not an IP address (got 'localhost')\n"
    assert cli("dashboard") == (2, "", problem)
