"""Fixtures for the integration tests: a deployable project on a free loopback port."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import MANIFEST, Project, running


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
