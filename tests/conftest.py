"""Fixtures shared by every test folder: real binaries and free loopback ports."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lifecycle_support import MANIFEST, Project, running
from swiftdeploy._process import which

IN_CI = os.environ.get("CI") == "true"

# Hypothesis budgets. "ci" (loaded by default) gives each property test without its own
# max_examples about 1,000 cases; `pytest --hypothesis-profile deep tests/fuzz` runs 10,000+.
# Tests that set max_examples themselves keep their own budget under either profile.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "ci", max_examples=1_000, deadline=None, suppress_health_check=_SUPPRESSED
)
settings.register_profile(
    "deep", max_examples=10_000, deadline=None, suppress_health_check=_SUPPRESSED
)
settings.load_profile("ci")


def _require(program: str, env_var: str) -> str:
    """Find a real binary; in CI a missing one is a failure, never a skip."""
    found = os.environ.get(env_var) or which(program)
    if found is None:
        cache = Path.home() / ".cache" / "swiftdeploy" / "bin" / program
        found = str(cache) if cache.is_file() else None
    if found is None:
        message = f"{program} not found (run scripts/setup-test-env)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return _require("nginx", "SWIFTDEPLOY_NGINX")


@pytest.fixture(scope="session")
def opa_bin() -> str:
    return _require("opa", "SWIFTDEPLOY_OPA")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def project(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "manifest.yaml").write_text(MANIFEST.format(port=port))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_NGINX=nginx_bin)
    proj = Project(root, port, env)
    proj.ok("init")
    # These tests are about the lifecycle, not this busy test host: lift the CPU-load limit
    # (the infra gate itself is exercised by test_denied_deploy_starts_nothing).
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    try:
        yield proj
    finally:
        pids = proj.pids() if (root / ".swiftdeploy").exists() else set()
        proj.run("teardown")
        for pid in pids:
            assert not running(pid), f"process {pid} survived teardown"
