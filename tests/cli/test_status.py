"""`status` through a real pseudo-terminal (the live Rich view) and without one (plain lines)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from cli_support import Cli, expected

_IMAGE_ID = "sha256:3fa2c1d4e5f6" + "0" * 52


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


def _live_panel(cli: Cli) -> str:
    """What `status` draws through a real pseudo-terminal, 100 columns wide."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "swiftdeploy", "-f", str(cli.manifest), "status", "--count", "2",
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
    return output


def test_status_draws_the_live_panel_in_a_terminal(cli: Cli) -> None:
    cli.seed()
    output = _live_panel(cli)
    assert "SwiftDeploy Status" in output
    assert "╭" in output  # a Rich panel, not the plain lines
    assert "\x1b[" in output  # styled for a terminal
    assert "Traceback" not in output
    assert "Artifacts" not in output  # no track runs anything


def test_the_live_panel_names_what_each_track_runs(cli: Cli) -> None:
    cli.seed()
    with _two_tracks(cli):
        output = _live_panel(cli)
    assert "Artifacts" in output
    assert "./server --port 9000 (3fa2c1d4e5f6) v1.0.0" in output
    assert "version 1.1.0" in output


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


@contextmanager
def _two_tracks(cli: Cli) -> Iterator[None]:
    """A state naming a stable that records its artifact and a canary recorded before
    artifacts were, each a live process carrying its socket path (so `load` keeps it); no
    nginx and no collector, so both tracks are unmeasured, with the reason."""
    sleepers = {
        track: subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            env={**os.environ, "APP_SOCKET": str(cli.root / f"{track}.sock")},
        )
        for track in ("stable", "canary")
    }
    command = {"kind": "command", "ref": "./server --port 9000", "id": _IMAGE_ID,
               "version": "1.0.0", "executable": "/srv/app/server"}  # fmt: skip

    def record(track: str, version: str, artifact: object) -> dict[str, object]:
        return {"id": f"{track}-{version}-abc123", "track": track, "mode": track,
                "version": version, "pid": sleepers[track].pid,
                "address": f"unix:{cli.root / f'{track}.sock'}", "artifact": artifact}  # fmt: skip

    state = {
        "instances": {
            "stable-1.0.0-abc123": record("stable", "1.0.0", command),
            "canary-1.1.0-abc123": record("canary", "1.1.0", None),
        },
        "stable": "stable-1.0.0-abc123",
        "canary": "canary-1.1.0-abc123",
        "canary_weight": 20,
    }
    (cli.root / ".swiftdeploy").mkdir(exist_ok=True)
    (cli.root / ".swiftdeploy" / "state.json").write_text(json.dumps(state))
    try:
        yield
    finally:
        for sleeper in sleepers.values():
            sleeper.kill()
            sleeper.wait(timeout=10)


def test_status_names_what_each_track_runs(cli: Cli) -> None:
    cli.seed()
    cli.infra_data({})
    dead = "no measurements: the collector is not running"
    unmeasured = f"UNAVAILABLE  {dead}"
    lines = expected(f"""\
        ==> SwiftDeploy Status  [<time>]  mode=down
          Throughput : n/a
          P99 Latency: n/a
          Error Rate : n/a
          Uptime     : n/a
          Chaos      : none
          Collector  : {dead} (`swiftdeploy deploy` starts it)
          Restarts   : stable 0, canary 0
          Tracks:
            stable  1.0.0  {unmeasured} (`swiftdeploy deploy` starts it)
            canary  1.1.0  {unmeasured} (`swiftdeploy deploy` starts it)
          Artifacts:
            stable  ./server --port 9000 (3fa2c1d4e5f6) v1.0.0
            canary  version 1.1.0
          Policy Compliance:
            [FAIL] infra  — Policy data is missing max_cpu_load; Policy data is missing min_disk_gb
    """)
    with _two_tracks(cli):
        assert cli("status", "--once", "--interval", "0.2") == (1, lines, "")
        result = cli("status", "--once", "--interval", "0.2", "--json")
    tracks = json.loads(result.stdout)["tracks"]
    assert [(t["track"], t["artifact"]) for t in tracks] == [
        ("stable", "./server --port 9000 (3fa2c1d4e5f6) v1.0.0"),
        ("canary", "version 1.1.0"),
    ]


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
