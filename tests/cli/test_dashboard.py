"""`dashboard`'s refusals, with the exact one-line messages an operator sees."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from lifecycle_support import MANIFEST


def _run(manifest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "swiftdeploy", "-f", str(manifest), "dashboard", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def test_bad_bind_address_is_a_usage_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(port=18998))
    result = _run(manifest, "--bind", "my-laptop")
    assert result.returncode == 2
    assert "Invalid value for '--bind': not an IP address: 'my-laptop'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_refused_with_what_to_do(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(port=18998))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(manifest, "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use",
        "  hint: choose another port with --port",
    ]
    assert not (tmp_path / ".swiftdeploy" / "dashboard.token").exists()


def test_a_bad_dashboard_section_names_the_field(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(port=18998) + "dashboard:\n  bind: localhost\n")
    result = _run(manifest)
    assert result.returncode == 2
    assert "dashboard.bind" in result.stderr
    assert "not an IP address (got 'localhost')" in result.stderr
