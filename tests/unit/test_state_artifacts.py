"""Each track's artifact is recorded in the state and named by every history event; state
files written before artifacts were recorded still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swiftdeploy.artifact import Artifact
from swiftdeploy.desired import describe
from swiftdeploy.errors import StateError
from swiftdeploy.history import History
from swiftdeploy.release import tracks
from swiftdeploy.state import DeploymentState, InstanceRecord, load_state, save_state

OLD = Artifact("image", "app:latest", "sha256:" + "a" * 64, "1.0.0")
NEW = Artifact("image", "app:1.1.0", "sha256:" + "b" * 64, "1.1.0")


def _record(track: str, artifact: Artifact | None) -> InstanceRecord:
    version = artifact.version if artifact else "0.9.0"
    return InstanceRecord(
        id=f"{track}-{version}-abc123",
        track=track,  # type: ignore[arg-type]
        mode=track,  # type: ignore[arg-type]
        version=version,
        pid=1,
        address="app:3000",
        artifact=artifact.as_dict() if artifact else None,
    )


def _state() -> DeploymentState:
    stable, canary = _record("stable", OLD), _record("canary", NEW)
    return DeploymentState(
        instances={stable.id: stable, canary.id: canary},
        stable=stable.id,
        canary=canary.id,
        canary_weight=20,
    )


def test_each_track_keeps_its_own_pinned_artifact(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, _state())
    loaded = load_state(path)
    stable, canary = loaded.stable_instance(), loaded.canary_instance()
    assert stable is not None
    assert canary is not None
    assert stable.pinned() == OLD
    assert canary.pinned() == NEW
    assert json.loads(path.read_text())["instances"][stable.id]["artifact"] == {
        "kind": "image",
        "ref": "app:latest",
        "id": "sha256:" + "a" * 64,
        "version": "1.0.0",
    }


def test_a_state_written_before_artifacts_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    record = _record("stable", None).model_dump()
    del record["artifact"]
    path.write_text(
        json.dumps({"instances": {record["id"]: record}, "stable": record["id"], "canary": None})
    )
    stable = load_state(path).stable_instance()
    assert stable is not None
    assert stable.pinned() is None
    assert describe(stable) == "version 0.9.0"


def test_a_malformed_recorded_artifact_is_a_state_error() -> None:
    record = _record("stable", OLD).model_copy(update={"artifact": {"kind": "image"}})
    with pytest.raises(
        StateError, match=r"instance stable-1\.0\.0-abc123: not a recorded artifact"
    ):
        record.pinned()


def test_history_events_name_each_tracks_artifact(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    history.append("promote", {"from": "stable", "to": "canary", **tracks(_state())})
    (event,) = history.events()
    assert event["stable"] == "1.0.0"
    assert event["canary"] == "1.1.0"
    assert event["artifacts"] == {"stable": OLD.as_dict(), "canary": NEW.as_dict()}


def test_describe_names_the_ref_and_the_short_image_id() -> None:
    assert describe(_record("canary", NEW)) == "app:1.1.0 (bbbbbbbbbbbb) v1.1.0"
    assert describe(None) == "nothing"


def test_the_same_bits_means_same_reference_id_and_version() -> None:
    assert OLD.same_bits(Artifact("image", "app:latest", OLD.id, "1.0.0"))
    assert not OLD.same_bits(Artifact("image", "app:latest", NEW.id, "1.0.0"))  # re-tagged
    assert not OLD.same_bits(Artifact("image", "app:latest", OLD.id, "1.0.1"))
    assert not OLD.same_bits(None)


def test_the_audit_report_names_what_each_track_ran() -> None:
    from swiftdeploy.audit import _lifecycle_details

    line = _lifecycle_details("promote", {"from": "stable", "to": "canary", **tracks(_state())})
    assert "stable_runs=app:latest (aaaaaaaaaaaa) v1.0.0" in line
    assert "canary_runs=app:1.1.0 (bbbbbbbbbbbb) v1.1.0" in line
    assert "runs" not in _lifecycle_details("promote", {"from": "stable", "to": "canary"})
