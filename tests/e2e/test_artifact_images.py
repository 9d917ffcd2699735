"""An image artifact is pinned by the ID the real Docker Engine reports, and an image the
engine does not have is refused in one line."""

from __future__ import annotations

import subprocess

import pytest

from swiftdeploy.artifact import ArtifactMissing, resolve_image

pytestmark = pytest.mark.e2e


def test_the_image_id_is_the_engines(
    docker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "DOCKER_HOST" in docker_env:  # the private engine scripts/docker-up started
        monkeypatch.setenv("DOCKER_HOST", docker_env["DOCKER_HOST"])
    expected = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", "swift-deploy-1-node:latest"],
        env=docker_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    artifact = resolve_image("swift-deploy-1-node:latest", "1.0.0")
    assert artifact.id == expected
    assert artifact.pinned_ref == expected
    assert artifact.short_id == expected[7:19]

    with pytest.raises(ArtifactMissing, match="image swift-deploy-1-node:no-such-tag is not in"):
        resolve_image("swift-deploy-1-node:no-such-tag", "9")
