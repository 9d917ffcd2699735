"""docker-stack.yml (Docker Swarm, `docker stack deploy`) as plain data → YAML."""

from __future__ import annotations

from typing import Any

from swiftdeploy.containers import (
    APP_USER,
    CHAOS_TOKEN_FILE,
    CONTAINER_TMP,
    NGINX_CONF_DIR,
    NGINX_LOG_DIR,
    NGINX_USER,
    OPA_IMAGE,
    OPA_USER,
    PROXY_CONF_DIR,
)
from swiftdeploy.manifest import Manifest
from swiftdeploy.runtime.compose.files import (
    CANARY_IMAGE_VAR,
    CANARY_VERSION_VAR,
    STABLE_IMAGE_VAR,
    STABLE_VERSION_VAR,
    request_log_volume,
    track_image,
)
from swiftdeploy.runtime.stack_parts import (
    app_environment,
    app_healthcheck,
    dump_yaml,
    limits,
    proxy_healthcheck,
)

# The stack's interpolation variables: the swarm runtime sets every one of them to what
# should run; the defaults make a plain `docker stack deploy` start the manifest's stable
# version behind nginx.
STABLE_REPLICAS_VAR = "SWIFTDEPLOY_STABLE_REPLICAS"
CANARY_REPLICAS_VAR = "SWIFTDEPLOY_CANARY_REPLICAS"
NGINX_REPLICAS_VAR = "SWIFTDEPLOY_NGINX_REPLICAS"
OPA_REPLICAS_VAR = "SWIFTDEPLOY_OPA_REPLICAS"
# The instance id a task belongs to: a new instance is always a new task, even when its
# version did not change (swarm replaces a task only when the service's spec changes).
STABLE_INSTANCE_VAR = "SWIFTDEPLOY_STABLE_INSTANCE"
CANARY_INSTANCE_VAR = "SWIFTDEPLOY_CANARY_INSTANCE"
INSTANCE_ENV = "SWIFTDEPLOY_INSTANCE"
STACK_NAME = "swiftdeploy"
CHAOS_SECRET = "chaos_token"  # noqa: S105 - the secret's name, not a secret


def _update(order: str) -> dict[str, Any]:
    return {
        "parallelism": 1,
        "delay": "0s",
        "order": order,
        "failure_action": "rollback",
        "monitor": "5s",
    }


def _hardened(user: str) -> dict[str, Any]:
    return {"user": user, "cap_drop": ["ALL"], "read_only": True}


def _placement(replicas_var: str, replicas: int, order: str) -> dict[str, Any]:
    return {
        "replicas": f"${{{replicas_var}:-{replicas}}}",
        "update_config": _update(order),
        "restart_policy": {"condition": "any", "delay": "2s"},
    }


def _app_service(
    manifest: Manifest,
    mode: str,
    replicas_var: str,
    replicas: int,
    version_var: str,
    instance_var: str,
) -> dict[str, Any]:
    image_var = CANARY_IMAGE_VAR if mode == "canary" else STABLE_IMAGE_VAR
    return {
        "image": track_image(manifest, image_var),
        **_hardened(APP_USER),
        "environment": {
            **app_environment(manifest, mode, version_var),
            INSTANCE_ENV: f"${{{instance_var}:-}}",
        },
        "volumes": [{"type": "tmpfs", "target": CONTAINER_TMP}],
        "networks": [manifest.network.name],
        "stop_grace_period": "30s",
        "healthcheck": app_healthcheck(manifest),
        "deploy": {
            **_placement(replicas_var, replicas, "start-first"),
            "endpoint_mode": "dnsrr",
            # A new task starts, passes its health check, and only then does the old one
            # stop; a new task that fails is rolled back by swarm itself.
            "rollback_config": {"parallelism": 1, "order": "start-first"},
            **limits("1.0", "256M"),
        },
    }


def stack_data(manifest: Manifest) -> dict[str, Any]:
    """docker-stack.yml as plain data.

    Differences from compose_data, all forced by swarm mode:
    * `endpoint_mode: dnsrr` for the app services: a service name resolves to its tasks'
      addresses (a VIP needs IPVS in the kernel, and nginx resolves names itself anyway);
    * nginx publishes in `mode: host` (the ingress routing mesh needs IPVS too);
    * OPA joins no overlay network: it runs on the host's network namespace and listens on
      127.0.0.1:<policy.opa_port> only (swarm publishing cannot bind an address, so it
      would be 0.0.0.0); containers cannot reach the host's loopback;
    * no `security_opt` (swarm ignores it, so no-new-privileges is not set), no
      `depends_on`, no one-shot log-volume step (nginx logs to a tmpfs and stdout);
    * the canary's chaos token is a Docker secret (a file, CHAOS_TOKEN_FILE).
    Replica counts and versions are variables the swarm runtime sets (see *_VAR above).
    """
    svc, nginx, net = manifest.services, manifest.nginx, manifest.network
    log_source, log_target = request_log_volume()
    app = _app_service(
        manifest, "stable", STABLE_REPLICAS_VAR, 1, STABLE_VERSION_VAR, STABLE_INSTANCE_VAR
    )
    app_canary = _app_service(
        manifest, "canary", CANARY_REPLICAS_VAR, 0, CANARY_VERSION_VAR, CANARY_INSTANCE_VAR
    )
    if manifest.chaos.auth == "token":
        app_canary["environment"]["CHAOS_TOKEN_FILE"] = f"/run/secrets/{CHAOS_SECRET}"
        app_canary["secrets"] = [
            {"source": CHAOS_SECRET, "target": CHAOS_SECRET, "uid": "1001", "mode": 0o400}
        ]
    proxy: dict[str, Any] = {
        "image": nginx.image,
        **_hardened(NGINX_USER),
        "command": ["nginx", "-c", f"{NGINX_CONF_DIR}/nginx.conf", "-g", "daemon off;"],
        # Host mode: the port is bound on this node by the nginx task itself.
        "ports": [
            {"target": nginx.port, "published": nginx.port, "protocol": "tcp", "mode": "host"}
        ],
        "volumes": [
            # The folder, not the file (see PROXY_CONF_DIR).
            {
                "type": "bind",
                "source": f"./{PROXY_CONF_DIR}",
                "target": NGINX_CONF_DIR,
                "read_only": True,
            },
            {"type": "bind", "source": log_source, "target": log_target},
            {"type": "tmpfs", "target": CONTAINER_TMP},
            {"type": "tmpfs", "target": "/run"},
            {"type": "tmpfs", "target": "/var/cache/nginx"},
            {"type": "tmpfs", "target": NGINX_LOG_DIR},
        ],
        "networks": [net.name],
        "healthcheck": proxy_healthcheck(manifest),
        # One host port: the new task can only bind it once the old one is gone.
        "deploy": {**_placement(NGINX_REPLICAS_VAR, 1, "stop-first"), **limits("0.5", "128M")},
    }
    if nginx.port < 1024:
        proxy["cap_add"] = ["NET_BIND_SERVICE"]
    services: dict[str, Any] = {
        svc.name: app,
        f"{svc.name}-canary": app_canary,
        "nginx": proxy,
    }
    if manifest.policy.engine == "opa":
        address = f"127.0.0.1:{manifest.policy.opa_port}"
        services["opa"] = {
            "image": OPA_IMAGE,
            **_hardened(OPA_USER),
            "command": ["run", "--server", "--addr", address, "/policies"],
            "volumes": [
                {"type": "bind", "source": "./policies", "target": "/policies", "read_only": True}
            ],
            "networks": ["host"],
            "deploy": {**_placement(OPA_REPLICAS_VAR, 1, "stop-first"), **limits("0.5", "128M")},
        }
    data: dict[str, Any] = {
        "version": "3.8",
        "services": services,
        "networks": {
            net.name: {"name": net.name, "driver": "overlay"},
            **({"host": {"external": True, "name": "host"}} if "opa" in services else {}),
        },
    }
    if manifest.chaos.auth == "token":
        data["secrets"] = {CHAOS_SECRET: {"file": f"./{CHAOS_TOKEN_FILE}"}}
    return data


def render_stack(manifest: Manifest, *, digest: str | None = None) -> str:
    return dump_yaml(stack_data(manifest), digest)
