"""Fixtures shared by every test folder: real binaries and free loopback ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lifecycle_support import Project, free_port, make_project
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
        message = f"{program} not found (run scripts/test, which installs nginx and OPA)"
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


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _require("prometheus", "SWIFTDEPLOY_PROMETHEUS")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def project(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    proj = make_project(tmp_path, port, nginx_bin)
    try:
        yield proj
    finally:
        proj.teardown_and_check()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failed one: a skip there hides a missing install step."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (a skip is a failure there): {report.longrepr}"
