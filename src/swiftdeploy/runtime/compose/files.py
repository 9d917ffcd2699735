"""docker-compose.yml (data → YAML) and the compose stack's nginx.conf.

Injection safety: the file is built as Python data and dumped by yaml.safe_dump, so no
manifest value can become a YAML key; the same manifest always gives the same bytes.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from swiftdeploy.collector.nginx import REQUEST_LOG
from swiftdeploy.containers import (
    APP_USER,
    CONTAINER_TMP,
    NGINX_CONF_DIR,
    NGINX_LOG_DIR,
    NGINX_REQUEST_LOG_DIR,
    NGINX_USER,
    OPA_IMAGE,
    OPA_USER,
    PROXY_CONF_DIR,
    PROXY_LOG_DIR,
)
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import NginxTarget, render_nginx, service_name_target
from swiftdeploy.project import Project
from swiftdeploy.runtime.stack_parts import (
    app_environment,
    app_healthcheck,
    dump_yaml,
    limits,
    proxy_healthcheck,
)

OPA_NETWORK = "opa-net"
COMPOSE_PROJECT = "swiftdeploy"
CANARY_PROFILE = "canary"
STABLE_VERSION_VAR = "SWIFTDEPLOY_STABLE_VERSION"
CANARY_VERSION_VAR = "SWIFTDEPLOY_CANARY_VERSION"
# Each track's image: the runtime sets it to the image ID the track was started with, so
# re-tagging the manifest's reference never changes what a track runs at its next restart.
STABLE_IMAGE_VAR = "SWIFTDEPLOY_STABLE_IMAGE"
CANARY_IMAGE_VAR = "SWIFTDEPLOY_CANARY_IMAGE"
CHAOS_TOKEN_VAR = "SWIFTDEPLOY_CHAOS_TOKEN"  # noqa: S105 - a variable name, not a secret


def proxy_target(
    manifest: Manifest,
    *,
    canary_running: bool | None = None,
    canary_weight: int | None = None,
    stable_service: str | None = None,
) -> NginxTarget:
    """The stack's nginx.conf (what `init` writes and the compose and swarm runtimes reload).

    No client keep-alive: a reload closes the old workers' idle keep-alive connections,
    and a request a client sends on one at that instant is lost; one connection per
    request loses nothing. Every request is logged for the collector, its track rendered
    per weighted slot: a switch is a reload, so each request is routed and logged by the
    one configuration its worker runs.
    """
    target = service_name_target(
        manifest,
        name="compose",
        canary_running=canary_running,
        canary_weight=canary_weight,
        stable_service=stable_service,
        client_keepalive_s=0,
    )
    return dataclasses.replace(target, collector_log=f"{NGINX_REQUEST_LOG_DIR}/{REQUEST_LOG}")


def request_log_volume() -> tuple[str, str]:
    """The collector's request log folder: (host source relative to the manifest, target)."""
    return f"./{PROXY_LOG_DIR}", NGINX_REQUEST_LOG_DIR


def track_image(manifest: Manifest, variable: str) -> str:
    """A track's image: the runtime's variable, defaulting to the manifest's reference."""
    return f"${{{variable}:-{manifest.services.image}}}"


def _hardening(user: str) -> dict[str, Any]:
    return {
        "user": user,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "restart": "unless-stopped",
    }


def compose_data(manifest: Manifest) -> dict[str, Any]:
    """docker-compose.yml as plain data (so no manifest value can become a YAML key)."""
    svc, nginx, net = manifest.services, manifest.nginx, manifest.network
    app: dict[str, Any] = {
        "image": track_image(manifest, STABLE_IMAGE_VAR),
        **_hardening(APP_USER),
        # The compose runtime sets these variables to the versions that run; the defaults
        # make a plain `docker compose up` start the manifest's version.
        "environment": app_environment(manifest, "stable", STABLE_VERSION_VAR),
        "expose": [str(svc.port)],
        "tmpfs": [CONTAINER_TMP],
        "networks": [net.name],
        "healthcheck": app_healthcheck(manifest),
        "deploy": limits("1.0", "256M"),
    }
    # The canary track: its own service, started only on `promote canary` (profile).
    app_canary: dict[str, Any] = {
        **copy.deepcopy(app),  # a copy: shared objects would become YAML anchors
        "image": track_image(manifest, CANARY_IMAGE_VAR),
        "profiles": [CANARY_PROFILE],
        "environment": {
            **app_environment(manifest, "canary", CANARY_VERSION_VAR),
            "CHAOS_TOKEN": f"${{{CHAOS_TOKEN_VAR}:-}}",
        },
    }
    proxy: dict[str, Any] = {
        "image": nginx.image,
        **_hardening(NGINX_USER),
        "ports": [f"{nginx.port}:{nginx.port}"],
        "command": ["nginx", "-c", f"{NGINX_CONF_DIR}/nginx.conf", "-g", "daemon off;"],
        "volumes": [
            f"./{PROXY_CONF_DIR}:{NGINX_CONF_DIR}:ro",
            f"nginx-logs:{NGINX_LOG_DIR}",
            ":".join(request_log_volume()),
        ],
        "tmpfs": [CONTAINER_TMP, "/run", "/var/cache/nginx"],
        "depends_on": {
            svc.name: {"condition": "service_healthy"},
            "nginx-log-init": {"condition": "service_completed_successfully"},
        },
        "networks": [net.name],
        "healthcheck": proxy_healthcheck(manifest),
        "deploy": limits("0.5", "128M"),
    }
    if nginx.port < 1024:
        proxy["cap_add"] = ["NET_BIND_SERVICE"]
    log_init = {
        # A fresh named volume is root-owned; this one-shot step is the only thing running
        # as root, with no network and only CAP_CHOWN, so nginx itself can stay non-root.
        "image": nginx.image,
        **_hardening("0:0"),
        "restart": "no",
        "cap_add": ["CHOWN"],
        "network_mode": "none",
        "entrypoint": ["chown", NGINX_USER, NGINX_LOG_DIR],
        "volumes": [f"nginx-logs:{NGINX_LOG_DIR}"],
    }
    opa = {
        "image": OPA_IMAGE,
        **_hardening(OPA_USER),
        "command": ["run", "--server", "--addr", "0.0.0.0:8181", "/policies"],
        "ports": [f"127.0.0.1:{manifest.policy.opa_port}:8181"],
        "volumes": ["./policies:/policies:ro"],
        "networks": [OPA_NETWORK],
        "healthcheck": {
            # The static image has no shell or curl; the binary itself is the probe.
            "test": ["CMD", "/opa", "version"],
            "interval": "10s",
            "timeout": "3s",
            "retries": 3,
        },
        "deploy": limits("0.5", "128M"),
    }
    return {
        "name": COMPOSE_PROJECT,
        "services": {
            svc.name: app,
            f"{svc.name}-canary": app_canary,
            "nginx": proxy,
            "nginx-log-init": log_init,
            "opa": opa,
        },
        "networks": {
            net.name: {"name": net.name, "driver": net.driver_type},
            # Project-scoped (no fixed name), so two stacks on one host never share it.
            OPA_NETWORK: {"driver": "bridge"},
        },
        "volumes": {"nginx-logs": {}},
    }


def render_compose(manifest: Manifest, *, digest: str | None = None) -> str:
    return dump_yaml(compose_data(manifest), digest)


def compose_files(project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
    """nginx.conf and docker-compose.yml: what `init` writes for every runtime."""
    return {
        project.nginx_conf: render_nginx(manifest, proxy_target(manifest), digest=digest),
        project.compose_file: render_compose(manifest, digest=digest),
    }
