"""The real OPA: shipped policies pass opa fmt/check/test; the REST engine and the gate
against a live `opa run --server`; fail-closed behaviour against misbehaving servers."""

from __future__ import annotations

import http.server
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifecycle_support import free_port, http_server, reply
from swiftdeploy.errors import PolicyDenied, PolicyUnavailable
from swiftdeploy.policy.gate import gate
from swiftdeploy.policy.opa import OpaServerEngine
from swiftdeploy.policy.server import OpaServer, start_server, stop_server
from swiftdeploy.policy.sources import defaults_dir

pytestmark = pytest.mark.integration

BAD_CANARY = {
    "to": "stable",
    "error_rate": 0.052,
    "p99_ms": 620,
    "request_count": 7,
    "window_s": 10,
}


@pytest.mark.parametrize(
    "args",
    [["fmt", "--fail", "-l"], ["check", "--strict"], ["test", "-v"]],
    ids=["fmt", "check", "test"],
)
def test_shipped_policies_are_clean(opa_bin: str, args: list[str]) -> None:
    proc = subprocess.run(
        [opa_bin, *args, str(defaults_dir())], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def opa(opa_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaServer]:
    state = tmp_path_factory.mktemp("opa-state")
    server = start_server(defaults_dir(), state, port=free_port(), opa_bin=opa_bin)
    try:
        yield server
    finally:
        assert stop_server(state)
        assert not (state / "opa.pid").exists()


@pytest.fixture(autouse=True)
def _close_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every engine a test made, so no keep-alive socket outlives its test."""
    made: list[OpaServerEngine] = []
    original = OpaServerEngine.__init__

    def tracking(self: OpaServerEngine, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(OpaServerEngine, "__init__", tracking)
    yield
    for engine in made:
        engine.close()


def _engine(opa: OpaServer) -> OpaServerEngine:
    return OpaServerEngine(opa.url, defaults_dir(), token=opa.token)


def test_rest_engine_allows_and_denies(opa: OpaServer) -> None:
    engine = _engine(opa)
    allowed = engine.evaluate("infra", {"disk_free_gb": 107.0, "cpu_load": 0.8})
    assert allowed.allow
    assert allowed.engine == "opa"
    assert allowed.checks["disk_free"].passed
    denied = engine.evaluate("canary", BAD_CANARY)
    assert not denied.allow
    assert denied.deny == [
        "Error rate 5.20% exceeds maximum 1.00%",
        "P99 latency 620.0ms exceeds maximum 500ms",
        "inconclusive: 7 requests in the last 10 s, need ≥ 50",
    ]
    assert denied.policy_digest.startswith("sha256:")


def test_undefined_domain_fails_closed(opa: OpaServer) -> None:
    # OPA answers 200 {} for a document nobody defined: that must not read as "allow".
    with pytest.raises(PolicyUnavailable, match="no result"):
        _engine(opa).evaluate("nothing_here", {})


def test_gate_records_and_raises_denied(opa: OpaServer) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    engine = _engine(opa)
    with pytest.raises(PolicyDenied) as info:
        gate(engine, "canary", BAD_CANARY, on_unavailable="deny", record=_append(events))
    assert len(info.value.reasons) == 3
    [(kind, payload)] = events
    assert kind == "policy_decision"
    assert payload["allow"] is False
    assert payload["engine"] == "opa"
    assert set(payload) >= {"domain", "input", "reasons", "checks", "policy_digest",
                            "decision_id", "duration_ms"}  # fmt: skip


def test_server_start_is_idempotent(opa_bin: str, tmp_path: Path) -> None:
    port = free_port()
    first = start_server(defaults_dir(), tmp_path, port=port, opa_bin=opa_bin)
    try:
        again = start_server(defaults_dir(), tmp_path, port=port, opa_bin=opa_bin)
        assert again.pid == first.pid
        assert httpx.get(f"{first.url}/health").status_code == 200
    finally:
        assert stop_server(tmp_path)
    assert not stop_server(tmp_path)


def _append(events: list[tuple[str, dict[str, Any]]]) -> Any:
    def record(kind: str, payload: dict[str, Any]) -> None:
        events.append((kind, payload))

    return record


# --- fail-closed fault table: a tiny server that misbehaves on purpose -----------------


class _Faulty(http.server.BaseHTTPRequestHandler):
    mode = "ok"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = type(self).mode
        if mode == "slow":
            time.sleep(1.0)
            body, status = b'{"result": {"allow": true}}', 200
        elif mode == "500":
            body, status = b'{"code": "internal_error"}', 500
        elif mode == "malformed":
            body, status = b'{"result": {"allow": tr', 200
        elif mode == "empty":
            body, status = b"{}", 200
        elif mode == "no_allow":
            body, status = b'{"result": {"deny": []}}', 200
        elif mode == "allow_string":
            body, status = b'{"result": {"allow": "true"}}', 200
        else:
            body, status = json.dumps({"result": {"allow": True, "deny": []}}).encode(), 200
        reply(self, status, body)  # a client that timed out first is the point of "slow"

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def faulty() -> Iterator[tuple[str, type[_Faulty]]]:
    handler = type("Handler", (_Faulty,), {})
    with http_server(handler) as url:
        yield url, handler


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("slow", "did not answer within"),
        ("500", "HTTP 500"),
        ("malformed", "malformed JSON"),
        ("empty", "no result"),
        ("no_allow", "no boolean allow"),
        ("allow_string", "no boolean allow"),
    ],
)
def test_fault_fails_closed(faulty: tuple[str, type[_Faulty]], mode: str, why: str) -> None:
    url, handler = faulty
    handler.mode = mode
    engine = OpaServerEngine(url, defaults_dir(), timeout_s=0.2)
    events: list[tuple[str, dict[str, Any]]] = []
    with pytest.raises(PolicyUnavailable, match=why) as info:
        gate(engine, "infra", {"disk_free_gb": 50, "cpu_load": 0.1},
             on_unavailable="deny", record=_append(events))  # fmt: skip
    assert info.value.message.startswith("policy engine unavailable: ")
    assert [kind for kind, _ in events] == ["policy_unavailable"]


def test_server_down_fails_closed() -> None:
    engine = OpaServerEngine(f"http://127.0.0.1:{free_port()}", defaults_dir(), timeout_s=0.5)
    with pytest.raises(PolicyUnavailable, match="cannot reach OPA"):
        engine.evaluate("infra", {})


def test_override_lets_through_and_records(faulty: tuple[str, type[_Faulty]]) -> None:
    url, handler = faulty
    handler.mode = "500"
    events: list[tuple[str, dict[str, Any]]] = []
    decision = gate(OpaServerEngine(url, defaults_dir()), "infra", {},
                    on_unavailable="allow", record=_append(events))  # fmt: skip
    assert decision.allow
    assert decision.overridden
    [(kind, payload)] = events
    assert kind == "policy_override"
    assert "HTTP 500" in payload["reason"]


def test_capture_payloads(opa: OpaServer) -> None:
    """Keeps the captured real answers used by the pure parser tests honest."""
    folder = Path(__file__).parents[1] / "unit" / "policy_payloads"
    for name in sorted(folder.glob("*.json")):
        captured = json.loads(name.read_text())
        answer = httpx.post(f"{opa.url}/v1/data/{captured['domain']}",
                            headers={"Authorization": f"Bearer {opa.token}"},
                            json={"input": captured["input"]}).json()  # fmt: skip
        assert answer == captured["response"], name.name
