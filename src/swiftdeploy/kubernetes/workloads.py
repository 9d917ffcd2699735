"""The application Deployments and Services: restricted security contexts, resources, probes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from swiftdeploy.containers import CONTAINER_TMP
from swiftdeploy.kubernetes.names import (
    APP_UID,
    STABLE_REPLICAS,
    Names,
    object_labels,
    object_meta,
    selector_labels,
)
from swiftdeploy.manifest import Manifest


def security(uid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod securityContext, container securityContext) for a non-root, read-only container."""
    seccomp = {"type": "RuntimeDefault"}
    pod = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": seccomp,
    }
    container = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": dict(seccomp),
    }
    return pod, container


def resource_limits(cpu_request: str, memory: str, cpu_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory},
    }


def empty_dirs(mounts: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volumeMounts) of in-memory-sized emptyDirs: volume name -> mount path."""
    volumes = [{"name": name, "emptyDir": {"sizeLimit": "64Mi"}} for name in mounts]
    volume_mounts = [{"name": name, "mountPath": path} for name, path in mounts.items()]
    return volumes, volume_mounts


def deployment_object(
    names: Names,
    namespace: str,
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    *,
    replicas: int,
    uid: int,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    pod_security, container_security = security(uid)
    template_meta: dict[str, Any] = {"labels": labels}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(name, namespace, labels),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": template_meta,
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security,
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{**container, "securityContext": container_security}],
                    "volumes": volumes,
                },
            },
        },
    }


def app_deployment(
    manifest: Manifest, names: Names, namespace: str, track: Literal["stable", "canary"]
) -> dict[str, Any]:
    svc = manifest.services
    canary_replicas = 1 if svc.mode == "canary" else 0
    replicas = STABLE_REPLICAS if track == "stable" else canary_replicas
    volumes, mounts = empty_dirs({"tmp": CONTAINER_TMP})
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "timeoutSeconds": 3}
    container = {
        "name": svc.name,
        "image": svc.image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "MODE", "value": track},
            {"name": "APP_VERSION", "value": svc.version},
            {"name": "APP_PORT", "value": str(svc.port)},
        ],
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            **probe,
            "periodSeconds": 10,
            "failureThreshold": 3,
            "initialDelaySeconds": 10,
        },
        "resources": resource_limits("100m", "256Mi", "1"),
        "volumeMounts": mounts,
    }
    name = names.stable if track == "stable" else names.canary
    labels = object_labels(names, svc.name, track, svc.version)
    selector = selector_labels(names, svc.name, track)
    return deployment_object(
        names, namespace, name, labels, selector,
        replicas=replicas, uid=APP_UID, container=container, volumes=volumes,
    )  # fmt: skip


def service_object(
    names: Names,
    namespace: str,
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    port: int,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(name, namespace, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
