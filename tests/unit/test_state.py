"""state.json: the last good state is kept beside it; a bad one is reported, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from swiftdeploy.errors import StateError
from swiftdeploy.state import DeploymentState, load_state, previous_path, salvage_state, save_state


def test_save_keeps_the_previous_good_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, DeploymentState(canary_weight=10))
    save_state(path, DeploymentState(canary_weight=20))
    assert load_state(path).canary_weight == 20
    assert load_state(previous_path(path)).canary_weight == 10


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"null", "a JSON NoneType"),
        (b"[]", "a JSON list"),
        (b"{oops", "not JSON"),
        (b'{"canary_weight": "x"}', "canary_weight"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_a_bad_state_is_one_line_naming_the_last_good_one(
    tmp_path: Path, data: bytes, why: str
) -> None:
    path = tmp_path / "state.json"
    save_state(path, DeploymentState(canary_weight=30))
    save_state(path, DeploymentState(canary_weight=40))
    path.write_bytes(data)
    with pytest.raises(StateError) as caught:
        load_state(path)
    assert why in caught.value.message
    assert "state.json.prev" in caught.value.message
    assert "\n" not in caught.value.message
    state, note = salvage_state(path)
    assert state.canary_weight == 30
    assert "kept as state.json.corrupt-" in note
    assert not path.exists()
    assert [p.read_bytes() for p in tmp_path.glob("state.json.corrupt-*")] == [data]


def test_a_state_folder_in_place_of_the_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "state.json").mkdir()
    with pytest.raises(StateError, match="a directory"):
        load_state(tmp_path / "state.json")
