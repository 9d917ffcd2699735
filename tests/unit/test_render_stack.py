"""docker-stack.yml (the swarm runtime): data → YAML, deterministic, swarm-safe settings."""

from __future__ import annotations

from typing import Any

import yaml

from seed_support import seed_text
from swiftdeploy.manifest import parse_manifest
from swiftdeploy.runtime.swarm.files import render_stack, stack_data

SEED = seed_text(driver="overlay", extra="runtime: swarm\n")


def stack(extra: str = "") -> dict[str, Any]:
    return stack_data(parse_manifest((SEED + extra).encode()))


def test_render_is_deterministic_and_carries_the_header() -> None:
    manifest = parse_manifest(SEED.encode())
    first = render_stack(manifest, digest="d" * 64)
    assert first == render_stack(manifest, digest="d" * 64)
    assert first.startswith("# generated from manifest.yaml")
    assert f"# manifest sha256: {'d' * 64}" in first
    assert yaml.safe_load(first) == stack()
    assert "&id" not in first  # no YAML anchors (shared objects)


def test_app_services_update_start_first_with_rollback() -> None:
    services = stack()["services"]
    for name, replicas in (("app", "1"), ("app-canary", "0")):
        service = services[name]
        deploy = service["deploy"]
        assert deploy["update_config"]["order"] == "start-first"
        assert deploy["update_config"]["failure_action"] == "rollback"
        assert deploy["endpoint_mode"] == "dnsrr"
        assert deploy["replicas"].endswith(f":-{replicas}}}")
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["user"] == "1001:1001"
        assert service["cap_drop"] == ["ALL"]
        assert service["read_only"] is True
        assert "ports" not in service
    assert services["app"]["environment"]["MODE"] == "stable"
    assert services["app-canary"]["environment"]["MODE"] == "canary"


def test_nginx_publishes_in_host_mode_and_opa_only_on_loopback() -> None:
    services = stack("policy:\n  engine: opa\n  opa_port: 8282\n")["services"]
    assert services["nginx"]["ports"] == [
        {"target": 8080, "published": 8080, "protocol": "tcp", "mode": "host"}
    ]
    opa = services["opa"]
    assert "ports" not in opa
    assert opa["networks"] == ["host"]
    assert "127.0.0.1:8282" in opa["command"]
    assert "opa" not in stack()["services"]  # embedded engine: no OPA service


def test_chaos_token_is_a_secret_file() -> None:
    data = stack()
    canary = data["services"]["app-canary"]
    assert canary["environment"]["CHAOS_TOKEN_FILE"] == "/run/secrets/chaos_token"
    assert "CHAOS_TOKEN" not in canary["environment"]
    assert data["secrets"]["chaos_token"]["file"] == "./.swiftdeploy/chaos.token"
    assert "secrets" not in data["services"]["app"]
    none = stack("chaos:\n  auth: none\n")
    assert "secrets" not in none
    assert "CHAOS_TOKEN_FILE" not in none["services"]["app-canary"]["environment"]
