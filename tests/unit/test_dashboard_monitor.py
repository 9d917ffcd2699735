"""The monitor on deployments that are not running or cannot be read: never an exception."""

from __future__ import annotations

import json
from pathlib import Path

from lifecycle_support import MANIFEST
from swiftdeploy.dashboard.monitor import PANELS, Monitor


def _manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return path


def test_nothing_deployed_reads_as_not_running(tmp_path: Path) -> None:
    monitor = Monitor(_manifest(tmp_path, MANIFEST.format(port=18997)), read_only=True)
    snapshot = monitor.tick()
    assert set(snapshot) == set(PANELS)
    assert snapshot["overview"]["running"] is False
    assert snapshot["overview"]["mode"] == "down"
    assert snapshot["overview"]["controls"] is False
    assert snapshot["tracks"]["tracks"] == []
    assert json.loads(monitor.encoded) == snapshot
    assert monitor.panel("overview")["viewers"] == 0


def test_an_invalid_manifest_or_state_file_is_shown_not_raised(tmp_path: Path) -> None:
    broken = _manifest(tmp_path, "services: [\n")
    snapshot = Monitor(broken, read_only=False).tick()
    assert snapshot["overview"]["running"] is False
    assert "manifest" in snapshot["overview"]["error"]

    manifest = _manifest(tmp_path, MANIFEST.format(port=18997))
    state = tmp_path / ".swiftdeploy" / "state.json"
    state.parent.mkdir()
    state.write_text('{"instances": "not a map"}')
    monitor = Monitor(manifest, read_only=False)
    error = monitor.tick()["overview"]["error"]
    assert "state.json is not a valid state" in error
    state.write_text("{}")
    assert monitor.tick()["overview"]["error"] == ""  # recovers once the file is sound
