"""The values SwiftDeploy writes back into manifest.yaml keep the operator's comments, quoting
and layout (`promote canary --image/--version`, the realignment after a rollback)."""

from __future__ import annotations

from pathlib import Path

from swiftdeploy.artifact import DEMO_REF, Artifact
from swiftdeploy.manifest import parse_manifest
from swiftdeploy.manifest_edit import set_values, with_service_mode, with_values

MANIFEST = """\
# my service — the operator's header comment
services:
  name: app
  image: myorg/api:1.0.0   # pinned by the release team
  port: 3000
  mode: stable
  version: "1.0.0"  # what /healthz reports
nginx:
  image: nginx:latest
  port: 8080
  proxy_timeout: 30
network:
  name: swiftdeploy-net
  driver_type: bridge
"""


def test_image_and_version_change_and_nothing_else() -> None:
    text = with_values(
        MANIFEST, {("services", "image"): "myorg/api:1.1.0", ("services", "version"): "1.1.0"}
    )
    assert text == MANIFEST.replace("api:1.0.0 ", "api:1.1.0 ").replace('"1.0.0"', '"1.1.0"')
    manifest = parse_manifest(text.encode())
    assert (manifest.services.image, manifest.services.version) == ("myorg/api:1.1.0", "1.1.0")


def test_a_version_yaml_would_read_as_a_number_is_quoted() -> None:
    unquoted = MANIFEST.replace('"1.0.0"', "1.0.0")
    text = with_values(unquoted, {("services", "version"): "2.0"})
    assert 'version: "2.0"  # what /healthz reports' in text
    assert parse_manifest(text.encode()).services.version == "2.0"


def test_unchanged_values_leave_the_text_byte_identical() -> None:
    assert with_values(MANIFEST, {("services", "version"): "1.0.0"}) is MANIFEST
    assert with_service_mode(MANIFEST, "stable") is MANIFEST


def test_a_command_is_written_as_a_list_and_the_demo_removes_it() -> None:
    command = Artifact("command", "./server --socket '{socket}'", "sha256:" + "c" * 64, "1.1.0")
    text = with_values(MANIFEST, command.manifest_values())
    manifest = parse_manifest(text.encode())
    assert manifest.local.command == ["./server", "--socket", "{socket}"]
    assert "# pinned by the release team" in text
    demo = Artifact("command", DEMO_REF, "sha256:" + "d" * 64, "1.0.0")
    back = with_values(text, demo.manifest_values())
    assert "local" not in back
    assert back == MANIFEST


def test_set_values_writes_atomically_and_says_whether_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST)
    path.chmod(0o640)
    assert set_values(path, {("services", "image"): "myorg/api:1.1.0"})
    assert not set_values(path, {("services", "image"): "myorg/api:1.1.0"})
    assert path.stat().st_mode & 0o777 == 0o640
    assert "# my service — the operator's header comment" in path.read_text()
