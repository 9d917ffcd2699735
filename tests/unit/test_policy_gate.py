"""The gate, the embedded engine, facts, digest and replay, without OPA."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from swiftdeploy.errors import PolicyDenied, PolicyUnavailable, UsageError
from swiftdeploy.policy import Decision, engine_for, gate
from swiftdeploy.policy.embedded import EmbeddedEngine
from swiftdeploy.policy.facts import canary_input, infra_facts
from swiftdeploy.policy.gate import GateDenied
from swiftdeploy.policy.replay import replay
from swiftdeploy.policy.sources import defaults_dir, load_sources, policy_digest


@dataclass
class Settings:
    engine: str = "embedded"
    on_unavailable: str = "deny"
    timeout_s: float = 2.0
    opa_port: int = 8181


class Broken:
    name = "broken"
    policy_digest = ""

    def evaluate(self, domain: str, input: dict[str, Any]) -> Decision:
        raise PolicyUnavailable("policy engine unavailable: test says so")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))


@pytest.fixture(scope="module")
def embedded() -> EmbeddedEngine:
    return EmbeddedEngine(defaults_dir())


def test_embedded_allow_records_decision(embedded: EmbeddedEngine) -> None:
    record = Recorder()
    decision = gate(embedded, "infra", {"disk_free_gb": 107.0, "cpu_load": 0.8},
                    on_unavailable="deny", record=record)  # fmt: skip
    assert decision.allow
    assert decision.engine == "embedded"
    [(kind, payload)] = record.events
    assert kind == "policy_decision"
    assert payload["decision_id"] == decision.decision_id
    assert payload["policy_digest"] == policy_digest(defaults_dir())
    assert payload["checks"]["cpu_load"]["pass"] is True


def test_embedded_deny_raises_with_reasons(embedded: EmbeddedEngine) -> None:
    record = Recorder()
    with pytest.raises(PolicyDenied) as info:
        gate(embedded, "infra", {"disk_free_gb": 2.0, "cpu_load": 0.1},
             on_unavailable="allow", record=record)  # fmt: skip
    assert info.value.reasons == ["Disk free 2.0GB is below minimum 10GB"]
    assert isinstance(info.value, GateDenied)
    assert not info.value.decision.allow
    assert record.events[0][1]["allow"] is False


def test_unavailable_fails_closed_and_records() -> None:
    record = Recorder()
    with pytest.raises(PolicyUnavailable, match="test says so"):
        gate(Broken(), "infra", {}, on_unavailable="deny", record=record)
    assert [kind for kind, _ in record.events] == ["policy_unavailable"]


def test_override_returns_marked_decision() -> None:
    record = Recorder()
    decision = gate(Broken(), "canary", {"to": "stable"}, on_unavailable="allow", record=record)
    assert decision.allow
    assert decision.overridden
    assert record.events[0][0] == "policy_override"
    assert record.events[0][1]["reason"].endswith("test says so")


def test_embedded_undefined_domain_is_unavailable(embedded: EmbeddedEngine) -> None:
    with pytest.raises(PolicyUnavailable, match="no result"):
        embedded.evaluate("nothing_here", {})


def test_embedded_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PolicyUnavailable, match="no policies folder"):
        EmbeddedEngine(tmp_path / "nope").evaluate("infra", {})


def test_embedded_broken_rego_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "policy.rego").write_text("package infra\n\nallow if {\n")
    with pytest.raises(PolicyUnavailable):
        EmbeddedEngine(tmp_path).evaluate("infra", {})


def test_missing_thresholds_deny(tmp_path: Path) -> None:
    shutil.copytree(defaults_dir(), tmp_path / "p")
    (tmp_path / "p" / "infra" / "data.json").write_text(json.dumps({"max_cpu_load": 2.0}))
    decision = EmbeddedEngine(tmp_path / "p").evaluate("infra", {"disk_free_gb": 50, "cpu_load": 0})
    assert decision.deny == ["Policy data is missing min_disk_gb"]


def test_sources_namespace_data_by_folder() -> None:
    sources = load_sources(defaults_dir())
    assert sources.data["infra"] == {"min_disk_gb": 10, "max_cpu_load": 2.0}
    assert sources.data["canary"]["max_p99_ms"] == 500
    assert not any(name.endswith("_test.rego") for name in sources.modules)


def test_digest_changes_with_data_not_tests(tmp_path: Path) -> None:
    shutil.copytree(defaults_dir(), tmp_path / "p")
    before = policy_digest(tmp_path / "p")
    (tmp_path / "p" / "infra" / "policy_test.rego").write_text("package infra_test\n")
    assert policy_digest(tmp_path / "p") == before
    (tmp_path / "p" / "infra" / "data.json").write_text('{"min_disk_gb": 1, "max_cpu_load": 9}')
    assert policy_digest(tmp_path / "p") != before


def test_engine_for_picks_and_caches() -> None:
    first = engine_for(Settings(), defaults_dir())
    assert first is engine_for(Settings(), defaults_dir())
    opa = engine_for(Settings(engine="opa", opa_port=1234), defaults_dir())
    assert opa.name == "opa"
    assert getattr(opa, "url", "") == "http://127.0.0.1:1234"
    with pytest.raises(UsageError):
        engine_for(Settings(engine="magic"), defaults_dir())


def test_infra_facts(tmp_path: Path) -> None:
    facts = infra_facts(tmp_path)
    assert facts["action"] == "deploy"
    assert facts["disk_free_gb"] >= 0
    assert facts["cpu_load"] >= 0
    assert facts["cpu_count"] >= 1
    assert facts["disk_free_gb"] == round(facts["disk_free_gb"], 1)


def test_canary_input_rounds_to_printed_precision() -> None:
    payload = canary_input(error_rate=0.0100499, p99_ms=499.96, request_count=50, window_s=10,
                           stable={"error_rate": 0.001})  # fmt: skip
    assert payload["error_rate"] == 0.01
    assert payload["p99_ms"] == 500.0
    assert payload["to"] == "stable"
    assert payload["stable"]["error_rate"] == 0.001


def test_replay_same_and_changed(embedded: EmbeddedEngine, tmp_path: Path) -> None:
    record = Recorder()
    gate(embedded, "infra", {"disk_free_gb": 50.0, "cpu_load": 1.5},
         on_unavailable="deny", record=record)  # fmt: skip
    event = {"type": "policy_decision", "payload": record.events[0][1]}
    same = replay(event, embedded)
    assert same.same_decision
    assert not same.digest_changed
    shutil.copytree(defaults_dir(), tmp_path / "p")
    (tmp_path / "p" / "infra" / "data.json").write_text('{"min_disk_gb": 10, "max_cpu_load": 1}')
    changed = replay(event, EmbeddedEngine(tmp_path / "p"))
    assert changed.digest_changed
    assert not changed.same_decision
    assert changed.new.deny == ["CPU load 1.50 exceeds maximum 1.00"]
