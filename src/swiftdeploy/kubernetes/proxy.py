"""The nginx and OPA Deployments, with their ConfigMaps and Services."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from swiftdeploy.containers import CONTAINER_TMP, NGINX_LOG_DIR, OPA_IMAGE
from swiftdeploy.errors import UsageError
from swiftdeploy.kubernetes.names import (
    CONFIGMAP_KEY_RE,
    NGINX_UID,
    OPA_PORT,
    OPA_UID,
    PRIVILEGED_PORTS_BELOW,
    UNPRIVILEGED_NGINX_PORT,
    Names,
    image_tag,
    object_labels,
    object_meta,
    selector_labels,
    service_host,
    weighted_slots,
)
from swiftdeploy.kubernetes.workloads import (
    deployment_object,
    empty_dirs,
    resource_limits,
    service_object,
)
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import render_nginx, service_name_target


def nginx_container_port(manifest: Manifest) -> int:
    """The port nginx listens on in its pod: a privileged nginx.port would need
    NET_BIND_SERVICE, which a non-root container does not get on most runtimes, so
    such ports are served by the Service and mapped to an unprivileged one."""
    port = manifest.nginx.port
    return port if port >= PRIVILEGED_PORTS_BELOW else UNPRIVILEGED_NGINX_PORT


def nginx_conf(manifest: Manifest, names: Names, namespace: str, *, digest: str) -> str:
    """The ConfigMap's nginx.conf: render_nginx with upstreams at the Services' DNS names."""
    port = manifest.services.port
    stable = f"{service_host(names.stable, namespace)}:{port}"
    canary = f"{service_host(names.canary, namespace)}:{port}"
    weight = manifest.canary.weight if manifest.services.mode == "canary" else 0
    target = replace(
        service_name_target(manifest, name="kubernetes"),
        listen=str(nginx_container_port(manifest)),
        stable=stable,
        canary=canary,
        slots=weighted_slots(stable, canary, weight),
    )
    return render_nginx(manifest, target, digest=digest)


def nginx_objects(
    manifest: Manifest, names: Names, namespace: str, digest: str
) -> list[dict[str, Any]]:
    nginx = manifest.nginx
    labels = object_labels(names, "nginx", "proxy", image_tag(nginx.image))
    selector = selector_labels(names, "nginx", "proxy")
    conf = nginx_conf(manifest, names, namespace, digest=digest)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(names.nginx, namespace, labels),
        "data": {"nginx.conf": conf},
    }
    volumes, mounts = empty_dirs(
        {"tmp": CONTAINER_TMP, "run": "/run", "cache": "/var/cache/nginx", "logs": NGINX_LOG_DIR}
    )
    volumes.append({"name": "config", "configMap": {"name": names.nginx}})
    mounts.append(
        {
            "name": "config",
            "mountPath": "/etc/nginx/nginx.conf",
            "subPath": "nginx.conf",
            "readOnly": True,
        }
    )
    probe = {"tcpSocket": {"port": "http"}, "timeoutSeconds": 3}
    container = sidecar_container(
        "nginx", nginx.image, nginx_container_port(manifest), probe, mounts
    )
    deployment = deployment_object(
        names, namespace, names.nginx, labels, selector,
        replicas=2, uid=NGINX_UID, container=container, volumes=volumes,
        # A changed nginx.conf changes the pod template, so the Deployment rolls.
        annotations={"swiftdeploy.io/config-sha256": hashlib.sha256(conf.encode()).hexdigest()},
    )  # fmt: skip
    # The Service answers on nginx.port whatever port the container listens on.
    service = service_object(names, namespace, names.nginx, labels, selector, nginx.port)
    return [config_map, deployment, service]


def sidecar_container(
    name: str, image: str, port: int, probe: dict[str, Any], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    """nginx's and OPA's container: one named port, probes on it, small fixed resources."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 5},
        "livenessProbe": {**probe, "periodSeconds": 10, "initialDelaySeconds": 5},
        "resources": resource_limits("50m", "128Mi", "500m"),
        "volumeMounts": mounts,
    }


def policy_config_key(rel: str) -> str:
    key = rel.replace("/", ".")
    if not CONFIGMAP_KEY_RE.fullmatch(key) or len(key) > 253:
        raise UsageError(f"policy file {rel!r} cannot be a ConfigMap key")
    return key


def opa_objects(
    names: Names, namespace: str, policies: Mapping[str, str], policy_digest: str
) -> list[dict[str, Any]]:
    labels = object_labels(names, "opa", "policy", image_tag(OPA_IMAGE))
    selector = selector_labels(names, "opa", "policy")
    keys = {rel: policy_config_key(rel) for rel in sorted(policies)}
    if len(set(keys.values())) != len(keys):
        raise UsageError("two policy files map to the same ConfigMap key")
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(names.opa, namespace, labels),
        "data": {keys[rel]: policies[rel] for rel in keys},
    }
    volumes, mounts = empty_dirs({"tmp": CONTAINER_TMP})
    volumes.append(
        {
            "name": "policies",
            "configMap": {
                "name": names.opa,
                # Back to the folder layout, so data.json files keep their namespaces.
                "items": [{"key": key, "path": rel} for rel, key in keys.items()],
            },
        }
    )
    mounts.append({"name": "policies", "mountPath": "/policies", "readOnly": True})
    probe = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 3}
    container = sidecar_container("opa", OPA_IMAGE, OPA_PORT, probe, mounts)
    container["args"] = ["run", "--server", "--addr", f"0.0.0.0:{OPA_PORT}", "/policies"]
    deployment = deployment_object(
        names, namespace, names.opa, labels, selector,
        replicas=1, uid=OPA_UID, container=container, volumes=volumes,
        annotations={"swiftdeploy.io/policy-digest": policy_digest},
    )  # fmt: skip
    service = service_object(names, namespace, names.opa, labels, selector, OPA_PORT)
    return [config_map, deployment, service]
