"""Hostile files where the CLI expects ordinary ones, through the real CLI.

A manifest that is a dangling or looping symlink, a symlink into another folder, a FIFO or a
device; numbers with thousands of digits; a history that is a folder. Each ends in one clear
line and a non-zero exit (never a traceback, never a hang), and nothing is written outside
the project folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli_support import run_cli
from lifecycle_support import MANIFEST

pytestmark = pytest.mark.integration


def refused(result: subprocess.CompletedProcess[str], code: int, why: str) -> None:
    """One `error:` line naming why (validate reports it as its first FAIL line, exit 1)."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    if "validate" in result.args:
        assert result.returncode == 1, out
        assert why in result.stdout.splitlines()[1], out
        return
    assert result.returncode == code, out
    assert why in out, out
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# --- 5: symlinked manifests -----------------------------------------------------------------


def test_dangling_manifest_symlink_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "svc", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "manifest.yaml").symlink_to(elsewhere / "manifest.yaml")
    for command in ("init", "validate", "deploy"):
        refused(run_cli(command, cwd=project), 2, "dangling symlink")
    assert tree(elsewhere) == set()
    assert tree(project) == {"manifest.yaml"}


def test_looping_manifest_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "manifest.yaml")
    for command in ("init", "validate", "status"):
        refused(run_cli(command, cwd=tmp_path), 2, "symlink loop")


def test_generated_files_go_beside_the_symlink_not_its_target(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "svc", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (elsewhere / "shared.yaml").write_text(MANIFEST.format(port=8080))
    (project / "manifest.yaml").symlink_to(elsewhere / "shared.yaml")
    result = run_cli("init", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tree(elsewhere) == {"shared.yaml"}
    assert {"nginx.conf", "docker-compose.yml", "policies"} <= tree(project)


# --- 6: manifests that are not regular files ------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom"])
def test_a_manifest_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, kind: str
) -> None:
    manifest = tmp_path / "manifest.yaml"
    if kind == "fifo":
        os.mkfifo(manifest)
    else:
        manifest.symlink_to(kind)
    for command in ("init", "validate", "deploy", "status"):
        refused(run_cli(command, timeout=20, cwd=tmp_path), 2, "not a regular file")


# --- 7: integers with thousands of digits ---------------------------------------------------

HUGE = {
    "decimal port": ("port: {port}", "port: " + "9" * 5000),
    "hex port": ("port: {port}", "port: 0x" + "f" * 5000),
    "canary weight": ("network:", "canary:\n  weight: " + "1" * 5000 + "\nnetwork:"),
    "negative": ("proxy_timeout: 30", "proxy_timeout: -" + "7" * 4400),
}


@pytest.mark.parametrize("case", list(HUGE))
def test_an_integer_with_thousands_of_digits_is_one_line(tmp_path: Path, case: str) -> None:
    old, new = HUGE[case]
    text = MANIFEST.replace(old, new, 1).replace("{port}", "8080")
    (tmp_path / "manifest.yaml").write_text(text)
    for command in ("init", "validate", "deploy"):
        refused(run_cli(command, cwd=tmp_path), 2, "digits")


# --- 8: a history that is not a file --------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "fifo", "dev-zero"])
def test_a_history_that_is_not_a_file_is_one_line(tmp_path: Path, kind: str) -> None:
    (tmp_path / "manifest.yaml").write_text(MANIFEST.format(port=8080))
    history = tmp_path / "history.jsonl"
    if kind == "directory":
        history.mkdir()
    elif kind == "fifo":
        os.mkfifo(history)
    else:
        history.symlink_to("/dev/zero")
    for args in (("audit",), ("audit", "--verify"), ("teardown",)):
        refused(run_cli(*args, timeout=20, cwd=tmp_path), 1, "history.jsonl: not a regular file")


def test_every_command_names_the_manifest_as_it_was_given(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text(MANIFEST.format(port=8080).replace("3000", "0"))
    for args in (("init",), ("deploy", "--dry-run"), ("promote", "canary", "--dry-run")):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith("error: manifest.yaml:"), (args, result.stderr)
        assert str(tmp_path) not in result.stderr, (args, result.stderr)
