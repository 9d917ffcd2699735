"""`swiftdeploy validate` through a real process: the five checks, exit codes, --json."""

from __future__ import annotations

import json
import os
import socket
from textwrap import dedent

from cli_support import Cli
from seed_support import seed_text

ALL_PASS = dedent("""\
    ==> Running pre-flight checks
      [PASS] manifest.yaml exists and is valid YAML
      [PASS] All required fields present and non-empty
      [PASS] Demo service (swiftdeploy.demo) can start
      [PASS] Nginx port <port> is not already bound
      [PASS] nginx.conf is syntactically valid

      Results: 5 passed, 0 failed
""")
SKIPPED_AFTER_FIELDS = [
    "The service can start (skipped: the manifest is not valid)",
    "The nginx port is not already bound (skipped: the manifest is not valid)",
    "nginx.conf is syntactically valid (skipped: the manifest is not valid)",
]


def _write_seed(cli: Cli, extra: str = "") -> None:
    cli.manifest.write_text(seed_text(nginx_port=cli.port, extra=extra))


def test_all_five_checks_pass(cli: Cli, nginx_bin: str) -> None:
    _write_seed(cli)
    cli.env["SWIFTDEPLOY_NGINX"] = nginx_bin
    assert cli("validate") == (0, ALL_PASS, "")


def test_bound_port_fails_with_exit_1(cli: Cli, nginx_bin: str) -> None:
    _write_seed(cli)
    cli.env["SWIFTDEPLOY_NGINX"] = nginx_bin
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", cli.port))
        listener.listen()
        result = cli("validate")
    expected = ALL_PASS.replace(
        "[PASS] Nginx port <port> is not already bound",
        "[FAIL] Nginx port <port> is already bound (127.0.0.1: Address already in use)",
    ).replace("5 passed, 0 failed", "4 passed, 1 failed")
    assert result == (1, expected, "")


def test_missing_manifest_skips_the_rest(cli: Cli) -> None:
    expected = dedent("""\
        ==> Running pre-flight checks
          [FAIL] manifest.yaml: manifest not found
          [FAIL] All required fields present (skipped: manifest.yaml could not be read)
          [FAIL] The service can start (skipped: the manifest is not valid)
          [FAIL] The nginx port is not already bound (skipped: the manifest is not valid)
          [FAIL] nginx.conf is syntactically valid (skipped: the manifest is not valid)

          Results: 0 passed, 5 failed
    """)
    assert cli("validate") == (1, expected, "")


def test_invalid_fields_are_listed_under_their_check(cli: Cli) -> None:
    cli.manifest.write_text(
        seed_text(nginx_port=cli.port)
        .replace("mode: stable", "mode: blue")
        .replace("port: 3000", "port: 0")
    )
    expected = dedent("""\
        ==> Running pre-flight checks
          [PASS] manifest.yaml exists and is valid YAML
          [FAIL] Required fields missing or invalid (2 problem(s))
              manifest.yaml:4:9: services.port: must be ≥ 1 (got 0)
              manifest.yaml:5:9: services.mode: must be one of 'stable' or 'canary' (got 'blue')
          [FAIL] The service can start (skipped: the manifest is not valid)
          [FAIL] The nginx port is not already bound (skipped: the manifest is not valid)
          [FAIL] nginx.conf is syntactically valid (skipped: the manifest is not valid)

          Results: 1 passed, 4 failed
    """)
    assert cli("validate") == (1, expected, "")

    result = cli("validate", "--json")
    assert (result.code, result.stderr) == (1, "")
    assert json.loads(result.stdout) == {
        "checks": [
            {"name": "manifest", "passed": True, "details": [],
             "message": "manifest.yaml exists and is valid YAML"},
            {"name": "fields", "passed": False,
             "message": "Required fields missing or invalid (2 problem(s))",
             "details": [
                 "manifest.yaml:4:9: services.port: must be ≥ 1 (got 0)",
                 "manifest.yaml:5:9: services.mode: "
                 "must be one of 'stable' or 'canary' (got 'blue')",
             ]},
            {"name": "image", "passed": False, "details": [], "message": SKIPPED_AFTER_FIELDS[0]},
            {"name": "port", "passed": False, "details": [], "message": SKIPPED_AFTER_FIELDS[1]},
            {"name": "nginx", "passed": False, "details": [], "message": SKIPPED_AFTER_FIELDS[2]},
        ],
        "passed": 1,
        "failed": 4,
    }  # fmt: skip


def test_custom_local_command_must_be_on_path(cli: Cli, nginx_bin: str) -> None:
    _write_seed(cli, extra="local:\n  command: [definitely-not-a-real-binary-xyz]\n")
    cli.env["SWIFTDEPLOY_NGINX"] = nginx_bin
    expected = ALL_PASS.replace(
        "[PASS] Demo service (swiftdeploy.demo) can start",
        "[FAIL] Service command 'definitely-not-a-real-binary-xyz' not found on PATH",
    ).replace("5 passed, 0 failed", "4 passed, 1 failed")
    assert cli("validate") == (1, expected, "")


def test_json_output(cli: Cli, nginx_bin: str) -> None:
    _write_seed(cli)
    cli.env["SWIFTDEPLOY_NGINX"] = nginx_bin
    result = cli("validate", "--json")
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "checks": [
            {"name": "manifest", "passed": True, "details": [],
             "message": "manifest.yaml exists and is valid YAML"},
            {"name": "fields", "passed": True, "details": [],
             "message": "All required fields present and non-empty"},
            {"name": "image", "passed": True, "details": [],
             "message": "Demo service (swiftdeploy.demo) can start"},
            {"name": "port", "passed": True, "details": [],
             "message": "Nginx port <port> is not already bound"},
            {"name": "nginx", "passed": True, "details": [],
             "message": "nginx.conf is syntactically valid"},
        ],
        "passed": 5,
        "failed": 0,
    }  # fmt: skip


def test_nginx_t_failure_is_reported(cli: Cli) -> None:
    fake = cli.root / "fake-nginx"
    fake.write_text("#!/bin/sh\necho 'nginx: [emerg] unknown directive \"bogus\"' >&2\nexit 1\n")
    fake.chmod(0o755)
    _write_seed(cli)
    cli.env["SWIFTDEPLOY_NGINX"] = str(fake)
    expected = ALL_PASS.replace(
        "  [PASS] nginx.conf is syntactically valid\n",
        '  [FAIL] nginx.conf is not valid: nginx: [emerg] unknown directive "bogus"\n'
        '      nginx: [emerg] unknown directive "bogus"\n',
    ).replace("5 passed, 0 failed", "4 passed, 1 failed")
    assert cli("validate") == (1, expected, "")


def test_compose_runtime_checks_the_docker_image(cli: Cli) -> None:
    _write_seed(cli, extra="runtime: compose\n")
    fake_bin = cli.root / "bin"
    fake_bin.mkdir()
    docker = fake_bin / "docker"
    docker.write_text("#!/bin/sh\necho 'Error: No such image' >&2\nexit 1\n")
    docker.chmod(0o755)
    cli.env["PATH"] = f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    # Under compose, `nginx -t` runs in the nginx image too: the fake docker fails both.
    expected = (
        ALL_PASS.replace(
            "[PASS] Demo service (swiftdeploy.demo) can start",
            "[FAIL] Docker image 'swift-deploy-1-node:latest' not found locally",
        )
        .replace(
            "  [PASS] nginx.conf is syntactically valid\n",
            "  [FAIL] nginx.conf is not valid: Error: No such image\n      Error: No such image\n",
        )
        .replace("5 passed, 0 failed", "3 passed, 2 failed")
    )
    assert cli("validate") == (1, expected, "")
