"""`swiftdeploy policy test|eval`: the core functions behind the verb (the CLI only prints)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swiftdeploy.errors import SwiftDeployError, UsageError
from swiftdeploy.policy.decision import Decision


def policies_dir_for(manifest_path: Path) -> Path:
    """The project's policies/ folder, or the shipped defaults when there is none."""
    from swiftdeploy.policy.sources import defaults_dir
    from swiftdeploy.project import Project

    project_dir = Project.at(manifest_path).policies_dir
    return project_dir if project_dir.is_dir() else defaults_dir()


@dataclass(frozen=True)
class TestRun:
    stdout: str
    stderr: str


def run_tests(manifest_path: Path) -> TestRun:
    """`opa test -v` on the policies; raises SwiftDeployError when a test fails."""
    from swiftdeploy._process import run
    from swiftdeploy.policy.binary import find_opa

    policies = policies_dir_for(manifest_path)
    result = run([find_opa(), "test", "-v", str(policies)], check=False, timeout=120)
    if result.returncode != 0:
        raise PolicyTestsFailed(f"policy tests failed in {policies}", result.stdout, result.stderr)
    return TestRun(result.stdout, result.stderr)


class PolicyTestsFailed(SwiftDeployError):
    def __init__(self, message: str, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.run = TestRun(stdout, stderr)


@dataclass(frozen=True)
class EvalRequest:
    domain: str
    document: str  # the JSON text of the input document
    engine: str = "embedded"  # or "opa"
    url: str | None = None
    port: int = 8181
    timeout_s: float = 2.0


@dataclass(frozen=True)
class _Settings:
    engine: str
    on_unavailable: str
    timeout_s: float
    opa_port: int


def evaluate(manifest_path: Path, request: EvalRequest) -> Decision:
    """The decision for the request's domain and document, allowed or not."""
    from swiftdeploy.policy.engines import engine_for, own_server_engine

    try:
        document: Any = json.loads(request.document)
    except ValueError as exc:
        raise UsageError(f"--input is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UsageError("--input must hold a JSON object")
    policies = policies_dir_for(manifest_path)
    if request.engine == "opa" and not request.url:  # the project's own OPA, with its token
        engine = own_server_engine(policies, port=request.port, timeout_s=request.timeout_s)
    else:
        settings = _Settings(request.engine, "deny", request.timeout_s, request.port)
        engine = engine_for(settings, policies, url=request.url)
    try:
        return engine.evaluate(request.domain, document)
    finally:
        close = getattr(engine, "close", None)
        if request.url and close is not None:
            close()
