"""Artifacts pin what a track runs; resolving one fails in one line, before anything runs."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from swiftdeploy.artifact import Artifact, ArtifactMissing, resolve_command
from swiftdeploy.errors import ExitCode, StateError


def test_a_command_is_pinned_to_its_executable_and_its_bytes() -> None:
    artifact = resolve_command([sys.executable, "-m", "http.server"], "1.1.0")
    real = os.path.realpath(sys.executable)
    assert artifact.executable == real
    assert artifact.id == "sha256:" + hashlib.sha256(Path(real).read_bytes()).hexdigest()
    assert artifact.ref == f"{sys.executable} -m http.server"
    assert artifact.pinned_ref == artifact.ref
    assert artifact.describe() == f"{artifact.ref} ({artifact.id[7:19]}) v1.1.0"


def test_a_bare_name_is_found_on_the_path_given(tmp_path: Path) -> None:
    program = tmp_path / "my-service"
    program.write_bytes(b"#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    artifact = resolve_command(["my-service", "--port", "{socket}"], "2", path=str(tmp_path))
    assert artifact.executable == str(program)
    assert artifact.id == "sha256:" + hashlib.sha256(program.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["no-such-program-anywhere"], "command no-such-program-anywhere not found"),
        (["./missing"], "command ./missing not found"),
        ([], "the command is empty"),
    ],
)
def test_a_missing_command_is_one_usage_error(
    tmp_path: Path, argv: list[str], expected: str
) -> None:
    with pytest.raises(ArtifactMissing, match=expected) as info:
        resolve_command(argv, "1", path=str(tmp_path), cwd=tmp_path)
    assert info.value.exit_code == ExitCode.USAGE
    assert "\n" not in info.value.message


def test_a_file_that_is_not_executable_is_not_a_command(tmp_path: Path) -> None:
    (tmp_path / "script").write_text("echo hi\n")
    with pytest.raises(ArtifactMissing, match="not executable"):
        resolve_command(["./script"], "1", cwd=tmp_path)


def test_an_image_pins_by_id_and_shows_the_short_id() -> None:
    image = Artifact(kind="image", ref="app:1.1.0", id="sha256:" + "ab" * 32, version="1.1.0")
    assert image.pinned_ref == image.id
    assert image.short_id == "abababababab"
    assert image.describe() == "app:1.1.0 (abababababab) v1.1.0"


def test_round_trip_through_the_state_file() -> None:
    command = resolve_command([sys.executable], "3")
    image = Artifact(kind="image", ref="app:1", id="sha256:" + "0" * 64, version="1")
    for artifact in (command, image):
        assert Artifact.from_dict(artifact.as_dict(), where="state.json") == artifact
    assert "executable" not in image.as_dict()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "vm", "ref": "a", "id": "b", "version": "1"},
        {"kind": "image", "ref": "", "id": "b", "version": "1"},
        {"kind": "image", "ref": "a", "id": 3, "version": "1"},
        {"kind": "command", "ref": "a", "id": "b", "version": "1", "executable": 5},
    ],
)
def test_a_malformed_record_is_a_state_error(data: dict[str, object]) -> None:
    with pytest.raises(StateError, match=r"tracks\.canary"):
        Artifact.from_dict(data, where="state.json: tracks.canary")
