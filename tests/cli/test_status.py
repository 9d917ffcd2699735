"""`status` through a real pseudo-terminal (the live Rich view) and without one (plain lines)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from lifecycle_support import MANIFEST


def _project(tmp_path: Path) -> Path:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(port=18999))
    subprocess.run(
        [sys.executable, "-m", "swiftdeploy", "-f", str(manifest), "init"],
        check=True,
        capture_output=True,
    )
    return manifest


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


def test_status_draws_the_live_panel_in_a_terminal(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
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


def test_status_prints_plain_lines_without_a_terminal(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "swiftdeploy", "-f", str(manifest), "status", "--once",
         "--interval", "0.2"],
        capture_output=True, text=True, env=dict(os.environ, NO_COLOR="1"), check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # down: a script sees it in the exit code
    assert result.stdout.startswith("==> SwiftDeploy Status")
    assert "mode=down" in result.stdout
    assert "Policy Compliance:" in result.stdout
    assert "\x1b[" not in result.stdout
