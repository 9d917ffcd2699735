"""Orphaned local instances are named by what they run, only when the process proves it.

Each test starts a real sleeping process carrying an instance's environment, as a killed
`start_instance` leaves one, and asks `orphans.adopt` what it records for it.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swiftdeploy.artifact import resolve_command
from swiftdeploy.runtime.local import launch, orphans
from swiftdeploy.state import DeploymentState

INSTANCE = "canary-1.1.0-abc123"
SLEEP = ["-c", "import time; time.sleep(120)"]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "run", tmp_path / "state"


@pytest.fixture
def orphan(folders: tuple[Path, Path]) -> Iterator[subprocess.Popen[bytes]]:
    run_dir, _ = folders
    env = {
        **os.environ,
        "APP_SOCKET": str(run_dir / f"{INSTANCE}.sock"),
        "APP_VERSION": "1.1.0",
        "MODE": "canary",
    }
    proc = subprocess.Popen([sys.executable, *SLEEP], env=env)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _launch(folders: tuple[Path, Path], proc: subprocess.Popen[bytes], **changes: object) -> dict:
    """Write the launch file start_instance writes for the orphan; return its artifact."""
    run_dir, state_dir = folders
    state_dir.mkdir(exist_ok=True)
    artifact = resolve_command([sys.executable, *SLEEP], "1.1.0").as_dict()
    socket = str(run_dir / f"{INSTANCE}.sock")
    env = {"APP_SOCKET": socket, "APP_VERSION": "1.1.0", "MODE": "canary"}
    spec = launch.Launch(
        argv=list(proc.args),  # type: ignore[arg-type]
        env=env,
        log="/logs/canary.log",
        socket=env["APP_SOCKET"],
        track="canary",
        artifact=artifact,
    )
    launch.write(state_dir, INSTANCE, dataclasses.replace(spec, **changes))  # type: ignore[arg-type]
    return artifact


def _adopted(folders: tuple[Path, Path]) -> DeploymentState:
    run_dir, state_dir = folders
    state = DeploymentState()
    orphans.adopt(state, run_dir=run_dir, state_dir=state_dir)
    return state


def test_an_orphan_its_launch_file_started_records_that_artifact(
    folders: tuple[Path, Path], orphan: subprocess.Popen[bytes]
) -> None:
    artifact = _launch(folders, orphan)
    record = _adopted(folders).instances[INSTANCE]
    assert (record.pid, record.track, record.mode, record.version) == (
        orphan.pid,
        "canary",
        "canary",
        "1.1.0",
    )
    assert record.artifact == artifact
    assert record.log == "/logs/canary.log"


def test_bytes_that_are_not_the_recorded_executable_leave_the_artifact_unknown(
    folders: tuple[Path, Path], orphan: subprocess.Popen[bytes]
) -> None:
    artifact = _launch(folders, orphan)
    _launch(folders, orphan, artifact={**artifact, "id": "sha256:" + "0" * 64})
    record = _adopted(folders).instances[INSTANCE]
    assert record.pid == orphan.pid
    assert record.artifact is None


def test_a_launch_of_another_version_is_not_this_process(
    folders: tuple[Path, Path], orphan: subprocess.Popen[bytes]
) -> None:
    socket = str(folders[0] / f"{INSTANCE}.sock")
    _launch(folders, orphan, env={"APP_SOCKET": socket, "APP_VERSION": "1.2.0", "MODE": "canary"})
    state = _adopted(folders)
    assert list(state.instances) == [f"orphan-{orphan.pid}"]
    assert state.instances[f"orphan-{orphan.pid}"].artifact is None


def test_an_orphan_without_a_launch_file_is_unknown(
    folders: tuple[Path, Path], orphan: subprocess.Popen[bytes]
) -> None:
    state = _adopted(folders)
    record = state.instances[f"orphan-{orphan.pid}"]
    assert (record.version, record.artifact, record.log) == ("1.1.0", None, "")
    assert state.stable is None
    assert state.canary is None
