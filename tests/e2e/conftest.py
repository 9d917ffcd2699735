"""Fixtures for the end-to-end tests: a real Docker Engine, the locally built images, and a
compose project with its own name, ports and network per test, always torn down.

The session fixture runs scripts/docker-up and the image builds (both idempotent and
cached, so a second run takes seconds); scripts/test runs them before pytest already.
Without Docker, the tests skip on a developer's machine and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import (
    DOCKERFILE,
    LATEST,
    MANIFEST,
    NEW,
    NEW_WELCOME,
    Releases,
    Stack,
    docker,
    image_id,
)

from lifecycle_support import free_port

IN_CI = os.environ.get("CI") == "true"
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("swift-deploy-1-node:latest", "nginx:latest", "openpolicyagent/opa:1.22.2-static")


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="session")
def docker_env() -> dict[str, str]:
    """The environment that reaches the Docker Engine, with every image built."""
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    if subprocess.run(["docker", "info"], capture_output=True, env=env, check=False).returncode:
        if os.geteuid() != 0:
            _unavailable("no Docker Engine answers, and only root can start one")
        up = _script("docker-up", env)
        if up.returncode != 0:
            _unavailable(f"scripts/docker-up failed:\n{up.stderr[-3000:]}")
        for line in up.stdout.splitlines():
            if line.startswith("export DOCKER_HOST="):
                env["DOCKER_HOST"] = line.split("=", 1)[1]
    missing = [
        image
        for image in IMAGES
        if subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, env=env, check=False
        ).returncode
    ]
    if missing:
        for script in ("build-images", "build-stack-images"):
            built = _script(script, env)
            if built.returncode != 0:
                _unavailable(
                    f"scripts/{script} failed:\n{built.stdout[-2000:]}{built.stderr[-2000:]}"
                )
    return env


@pytest.fixture
def stack(tmp_path: Path, docker_env: dict[str, str]) -> Iterator[Stack]:
    name = f"sde2e{os.getpid()}{tmp_path.name[-6:]}".lower().replace("_", "")
    name = "".join(ch for ch in name if ch.isalnum())
    port, opa_port = free_port(), free_port()
    root = tmp_path / "svc"
    # 0700, as a home folder is: nginx's unprivileged user must not need to traverse it.
    root.mkdir(mode=0o700)
    (root / "manifest.yaml").write_text(
        MANIFEST.format(port=port, network=f"{name}-net", opa_port=opa_port)
    )
    env = dict(docker_env, NO_COLOR="1", COLUMNS="120", COMPOSE_PROJECT_NAME=name)
    proj = Stack(root, port, opa_port, name, env)
    proj.ok("init")
    # The end-to-end tests are about the stack, not this busy host's CPU load.
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    try:
        yield proj
    finally:
        proj.run("teardown")
        # Whatever teardown missed (a failed test's leftovers) goes too: nothing leaks.
        for kind in ("container", "network", "volume"):
            listing = ["ls", "-a", "-q"] if kind == "container" else ["ls", "-q"]
            ids = docker(env, kind, *listing, *proj.label_filter()).split()
            if ids:
                docker(env, kind, "rm", "-f", *ids, check=False)


@pytest.fixture
def releases(docker_env: dict[str, str], tmp_path: Path) -> Iterator[Releases]:
    """NEW built from the demo image, and a mutable tag of this test's own on the demo."""
    old = image_id(docker_env, LATEST)
    tag = f"swift-deploy-1-node:e2e-{uuid.uuid4().hex[:10]}"
    docker(docker_env, "tag", old, tag)
    context = tmp_path / "image-1.1.0"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    docker(docker_env, "build", "-q", "--build-arg", f"WELCOME={NEW_WELCOME}", "-t", NEW,
           str(context), timeout=600)  # fmt: skip
    try:
        yield Releases(tag=tag, old=old, new=image_id(docker_env, NEW))
    finally:
        docker(docker_env, "rmi", tag, check=False)  # the tag only: the images stay
