"""`status` through a real pseudo-terminal (the live Rich view) and without one (plain lines)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

from cli_support import Cli, expected


def _read_all(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


def test_status_draws_the_live_panel_in_a_terminal(cli: Cli) -> None:
    cli.seed()
    manifest = cli.manifest
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "swiftdeploy", "-f", str(manifest), "status", "--count", "2",
         "--interval", "0.3"],
        stdin=slave, stdout=slave, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    try:
        output = _read_all(master, proc, timeout=60).decode(errors="replace")
    finally:
        os.close(master)
        proc.wait(timeout=30)
    assert proc.returncode == 0, output
    assert "SwiftDeploy Status" in output
    assert "╭" in output  # a Rich panel, not the plain lines
    assert "\x1b[" in output  # styled for a terminal
    assert "Traceback" not in output


def test_status_prints_plain_lines_without_a_terminal(cli: Cli) -> None:
    cli.seed()
    cli.infra_data({})  # no limits: the gate fails closed, whatever this host's load
    lines = expected("""\
        ==> SwiftDeploy Status  [<time>]  mode=down
          Throughput : n/a
          P99 Latency: n/a
          Error Rate : n/a
          Uptime     : n/a
          Chaos      : none
          Policy Compliance:
            [FAIL] infra  — Policy data is missing max_cpu_load; Policy data is missing min_disk_gb
    """)
    # Down: a script sees it in the exit code.
    assert cli("status", "--once", "--interval", "0.2") == (1, lines, "")


def test_status_json(cli: Cli) -> None:
    cli.seed()
    cli.infra_data({})
    result = cli("status", "--once", "--interval", "0.2", "--json")
    assert (result.code, result.stderr) == (1, "")
    assert json.loads(result.stdout) == {
        "ts": "<time>",
        "mode": "down",
        "tracks": [],
        "rollout": "",
        "collector": None,  # nothing deployed: no collector is expected
        "recent_p99": [],
        "recent_error_rate": [],
        "policy": [
            {"domain": "infra", "rule": "cpu_load", "status": "FAIL",
             "detail": "Policy data is missing max_cpu_load"},
            {"domain": "infra", "rule": "disk_free", "status": "FAIL",
             "detail": "Policy data is missing min_disk_gb"},
        ],
    }  # fmt: skip
