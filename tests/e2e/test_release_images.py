"""Each track runs its own image, pinned by ID, on the real Docker Engine (compose runtime).

A second demo image that really differs (a build argument changes its welcome message, a
label marks it) is released as `swift-deploy-1-node:1.1.0`: as a canary beside stable,
rolled back, released again; re-tagging `latest` and restarting the stable container does
not change what stable runs; promoted, every response comes from the new image. A keep-alive
load that never retries sees 0 failed requests through the whole sequence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Stack, docker

from lifecycle_support import Load

pytestmark = pytest.mark.e2e

LATEST = "swift-deploy-1-node:latest"
NEW = "swift-deploy-1-node:1.1.0"
NEW_WELCOME = "Welcome to SwiftDeploy 1.1.0"
DOCKERFILE = """\
FROM swift-deploy-1-node:latest
ARG WELCOME="Welcome to SwiftDeploy"
LABEL org.swiftdeploy.release="1.1.0"
USER 0:0
RUN sed -i "s/Welcome to SwiftDeploy/${WELCOME}/" \\
        /opt/venv/lib/python3*/site-packages/swiftdeploy/demo/app.py \\
    && rm -f /opt/venv/lib/python3*/site-packages/swiftdeploy/demo/__pycache__/app.*.pyc
USER 1001:1001
"""


def image_id(env: dict[str, str], ref: str) -> str:
    return docker(env, "image", "inspect", "--format", "{{.Id}}", ref).strip()


@pytest.fixture
def second_image(docker_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Build NEW from the demo image; afterwards `latest` is put back where it was."""
    original = image_id(docker_env, LATEST)
    context = tmp_path / "image-1.1.0"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    docker(docker_env, "build", "-q", "--build-arg", f"WELCOME={NEW_WELCOME}", "-t", NEW,
           str(context), timeout=600)  # fmt: skip
    try:
        yield image_id(docker_env, NEW)
    finally:
        docker(docker_env, "tag", original, LATEST)


def welcome(stack: Stack, **headers: str) -> str:
    return str(stack.get("/", **headers).json()["message"])


def pinned(stack: Stack, track: str) -> dict[str, str]:
    state = json.loads((stack.root / ".swiftdeploy" / "state.json").read_text())
    artifact = state["instances"][state[track]]["artifact"]
    assert isinstance(artifact, dict)
    return artifact


def test_each_track_runs_its_own_pinned_image(stack: Stack, second_image: str) -> None:
    old = image_id(stack.env, LATEST)
    assert old != second_image
    labels = json.loads(docker(stack.env, "image", "inspect", "--format",
                               "{{json .Config.Labels}}", NEW))  # fmt: skip
    assert labels["org.swiftdeploy.release"] == "1.1.0"
    stack.ok("deploy")
    assert pinned(stack, "stable")["id"] == old
    with Load(stack.port, threads=2) as load:
        # A canary of the new image, and the way back.
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        assert "image: swift-deploy-1-node:1.1.0" in stack.manifest.read_text()
        assert pinned(stack, "canary")["id"] == second_image
        assert welcome(stack, **{"X-Canary": "always"}).startswith(NEW_WELCOME)
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"
        rolled = stack.ok("rollback")
        assert "manifest.yaml set back to what stable runs" in rolled, rolled
        assert "image: swift-deploy-1-node:latest" in stack.manifest.read_text()
        assert pinned(stack, "stable")["id"] == old
        assert welcome(stack) == "Welcome to SwiftDeploy [stable]"

        # Released again; then `latest` is re-tagged and the stable container restarted.
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        docker(stack.env, "tag", NEW, LATEST)
        stable_container = stack.container("app")
        docker(stack.env, "restart", stable_container)
        assert stack.inspect(stable_container)["Image"] == old
        stack.ok("deploy")  # a canary runs: deploy replaces nothing
        assert stack.inspect(stack.container("app"))["Image"] == old
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"

        stack.ok("promote", "stable", "--window", "2")
    assert load.total > 100
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert pinned(stack, "stable")["id"] == second_image
    assert stack.inspect(stack.container("app"))["Image"] == second_image
    for pin in ({}, {"X-Canary": "never"}, {"X-Canary": "always"}):
        for _ in range(5):
            assert welcome(stack, **pin).startswith(NEW_WELCOME), pin
    events = [e for e in stack.history() if e["type"] in ("promote", "rollback")]
    assert events[-1]["artifacts"]["stable"]["id"] == second_image
