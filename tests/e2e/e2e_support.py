"""What the end-to-end tests share: a compose project driven through the real CLI, docker
helpers, and load through nginx on localhost."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from seed_support import seed_text

MANIFEST = seed_text(
    nginx_port="{port}",
    network="{network}",
    extra="runtime: compose\npolicy:\n  opa_port: {opa_port}\n",
)


def docker(env: dict[str, str], *args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


@dataclass
class Stack:
    root: Path
    port: int
    opa_port: int
    name: str  # the compose project name
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "swiftdeploy", "-f", str(self.manifest), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def get(self, path: str = "/", **headers: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.root / ".swiftdeploy" / "state.json").read_text())
        return loaded

    def history(self) -> list[dict[str, Any]]:
        path = self.root / "history.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def label_filter(self) -> list[str]:
        return ["--filter", f"label=com.docker.compose.project={self.name}"]

    def container(self, service: str) -> str:
        ids = docker(
            self.env,
            "ps",
            "-q",
            *self.label_filter(),
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).split()
        assert len(ids) == 1, f"{service}: {ids}"
        return ids[0]

    def inspect(self, container: str) -> dict[str, Any]:
        loaded: list[dict[str, Any]] = json.loads(docker(self.env, "inspect", container))
        return loaded[0]

    def leftovers(self) -> dict[str, list[str]]:
        return {
            "containers": docker(self.env, "ps", "-a", "-q", *self.label_filter()).split(),
            "networks": docker(self.env, "network", "ls", "-q", *self.label_filter()).split(),
            "volumes": docker(self.env, "volume", "ls", "-q", *self.label_filter()).split(),
        }


def assert_unreachable(stack: Stack, nginx: str, app: str, url: str) -> None:
    """url answers neither from inside the nginx container (curl) nor the app's (python)."""
    probe = docker(
        stack.env, "exec", nginx, "curl", "-s", "-m", "3", "-o", "/dev/null",
        "-w", "%{http_code}", url, check=False,
    )  # fmt: skip
    assert probe.strip() in ("", "000"), (url, probe)
    python_probe = (
        "import urllib.request as u\n"
        "try:\n"
        f"    u.urlopen('{url}', timeout=3); print('reached')\n"
        "except Exception as exc:\n"
        "    print('unreachable', type(exc).__name__)\n"
    )
    reached = docker(stack.env, "exec", app, "python3", "-c", python_probe)
    assert reached.startswith("unreachable"), (url, reached)


# A second release of the demo that really differs: its welcome message (a build argument)
# and a label; built from the local demo image by the `releases` fixture.
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


@dataclass(frozen=True)
class Releases:
    """Two releases of the demo: `tag` is this test's own mutable tag (the operator's
    `latest`), first on the demo image `old`; `new` is NEW's image ID. A tag of its own, so
    re-tagging it changes nothing another test runs at the same time."""

    tag: str
    old: str
    new: str

    def use_tag(self, stack: Stack) -> None:
        """The stack's manifest names `tag` instead of the demo's `latest`."""
        text = stack.manifest.read_text()
        stack.manifest.write_text(text.replace(f"image: {LATEST}", f"image: {self.tag}"))
        stack.ok("init")


def image_id(env: dict[str, str], ref: str) -> str:
    return docker(env, "image", "inspect", "--format", "{{.Id}}", ref).strip()


def welcome(stack: Stack, **headers: str) -> str:
    return str(stack.get("/", **headers).json()["message"])


def pinned(stack: Stack, track: str) -> dict[str, str]:
    state = stack.state()
    artifact = state["instances"][state[track]]["artifact"]
    assert isinstance(artifact, dict)
    return artifact
