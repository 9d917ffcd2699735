"""Kubernetes manifests from the same manifest.yaml: plain YAML, no cluster needed.

Everything is built as Python data and dumped by a yaml.SafeDumper (so no manifest value can
become a key or a document), deterministically (sorted keys, a fixed object order, the
manifest's sha256 in every header). The nginx.conf in the ConfigMap is the same
render_nginx() output as the other targets, pointed at the two Services' cluster DNS names.

Rendered objects (namespace `--namespace`, default "swiftdeploy"):

    Namespace              Pod Security "restricted" enforced
    ConfigMaps             nginx.conf (nginx traffic only), the OPA policies
    Services               <name>-stable, <name>-canary, <name>-nginx, <name>-opa
    Deployments            stable, canary (0 replicas unless services.mode is canary), nginx, opa
    PodDisruptionBudget    stable
    NetworkPolicies        default deny; OPA only from the control namespace; app only from nginx
    HTTPRoute              with `traffic="gateway"`, instead of the nginx Deployment
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from swiftdeploy.errors import UsageError
from swiftdeploy.manifest import Manifest
from swiftdeploy.render import (
    CONTAINER_TMP,
    NGINX_LOG_DIR,
    OPA_IMAGE,
    compose_nginx_target,
    render_nginx,
)

if TYPE_CHECKING:
    from swiftdeploy.policy.decision import Decision

Traffic = Literal["nginx", "gateway"]

MANAGED_BY = "swiftdeploy"
DEFAULT_NAMESPACE = "swiftdeploy"
CLUSTER_DOMAIN = "cluster.local"
# The label the namespace the CLI (or CI) runs in must carry to reach OPA.
CONTROL_LABEL = ("swiftdeploy.io/role", "control")
GATEWAY_NAME = "swiftdeploy"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
APP_UID = 1001
NGINX_UID = 101  # the `nginx` user of the official image
OPA_UID = 1000
OPA_PORT = 8181
STABLE_REPLICAS = 2
PRIVILEGED_PORTS_BELOW = 1024
UNPRIVILEGED_NGINX_PORT = 8080
GENERATED_NOTE = (
    "generated from manifest.yaml — do not edit (run `swiftdeploy render --target kubernetes`)"
)

# Which file each kind goes to; the numeric prefix is the order `kubectl apply -f DIR` uses.
FILES: dict[str, str] = {
    "Namespace": "00-namespace.yaml",
    "ConfigMap": "10-configmaps.yaml",
    "Service": "20-services.yaml",
    "Deployment": "30-deployments.yaml",
    "PodDisruptionBudget": "40-poddisruptionbudgets.yaml",
    "NetworkPolicy": "50-networkpolicies.yaml",
    "HTTPRoute": "60-httproutes.yaml",
}
OWNED_FILE_RE = re.compile(r"[0-9]{2}-[a-z]+\.yaml")

_DNS_LABEL_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9_.-]")
_CONFIGMAP_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")
_LONGEST_SUFFIX = len("-canary")


@dataclass(frozen=True)
class Names:
    """Object names derived from services.name."""

    app: str

    @property
    def stable(self) -> str:
        return f"{self.app}-stable"

    @property
    def canary(self) -> str:
        return f"{self.app}-canary"

    @property
    def nginx(self) -> str:
        return f"{self.app}-nginx"

    @property
    def opa(self) -> str:
        return f"{self.app}-opa"


def check_names(manifest: Manifest, namespace: str) -> Names:
    """Kubernetes names are stricter than the manifest's: refuse what cannot be one."""
    name = manifest.services.name
    if not _DNS_LABEL_RE.fullmatch(name) or len(name) > 63 - _LONGEST_SUFFIX:
        raise UsageError(
            f"services.name {name!r} cannot name Kubernetes objects: use lowercase letters, "
            f"digits and '-', starting with a letter, at most {63 - _LONGEST_SUFFIX} characters"
        )
    if not _DNS_LABEL_RE.fullmatch(namespace) or len(namespace) > 63:
        raise UsageError(
            f"namespace {namespace!r} is not a DNS-1123 label "
            "(lowercase letters, digits and '-', starting with a letter, at most 63 characters)"
        )
    return Names(name)


def label_value(text: str) -> str:
    """A valid label value from free text (versions may hold '+'; tags may be long)."""
    value = _LABEL_VALUE_BAD.sub("_", text)[:63]
    return value.strip("_.-") or "unknown"


def image_tag(image: str) -> str:
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _labels(names: Names, name: str, component: str, version: str) -> dict[str, str]:
    return {
        **_selector(names, name, component),
        "app.kubernetes.io/version": label_value(version),
        "app.kubernetes.io/part-of": names.app,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _selector(names: Names, name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": names.app,
        "app.kubernetes.io/component": component,
    }


def _meta(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def _security(uid: int) -> tuple[dict[str, Any], dict[str, Any]]:
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


def _resources(cpu_request: str, memory: str, cpu_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory},
    }


def _empty_dirs(mounts: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volumeMounts) of in-memory-sized emptyDirs: volume name -> mount path."""
    volumes = [{"name": name, "emptyDir": {"sizeLimit": "64Mi"}} for name in mounts]
    volume_mounts = [{"name": name, "mountPath": path} for name, path in mounts.items()]
    return volumes, volume_mounts


def _deployment(
    *,
    names: Names,
    namespace: str,
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    replicas: int,
    uid: int,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    pod_security, container_security = _security(uid)
    template_meta: dict[str, Any] = {"labels": labels}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, labels),
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


def _app_deployment(
    manifest: Manifest, names: Names, namespace: str, track: Literal["stable", "canary"]
) -> dict[str, Any]:
    svc = manifest.services
    canary_replicas = 1 if svc.mode == "canary" else 0
    replicas = STABLE_REPLICAS if track == "stable" else canary_replicas
    volumes, mounts = _empty_dirs({"tmp": CONTAINER_TMP})
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
        "resources": _resources("100m", "256Mi", "1"),
        "volumeMounts": mounts,
    }
    return _deployment(
        names=names,
        namespace=namespace,
        name=names.stable if track == "stable" else names.canary,
        labels=_labels(names, svc.name, track, svc.version),
        selector=_selector(names, svc.name, track),
        replicas=replicas,
        uid=APP_UID,
        container=container,
        volumes=volumes,
    )


def _service(
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
        "metadata": _meta(name, namespace, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def service_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"


def weighted_slots(stable: str, canary: str, weight: int) -> tuple[str, ...]:
    """nginx's weighted upstream as repeated servers: `weight`% canary, in lowest terms."""
    divisor = math.gcd(weight, 100)
    total, to_canary = 100 // divisor, weight // divisor
    return tuple([canary] * to_canary + [stable] * (total - to_canary))


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
        compose_nginx_target(manifest),
        name="kubernetes",
        listen=str(nginx_container_port(manifest)),
        stable=stable,
        canary=canary,
        slots=weighted_slots(stable, canary, weight),
    )
    return render_nginx(manifest, target, digest=digest)


def _nginx_objects(
    manifest: Manifest, names: Names, namespace: str, digest: str
) -> list[dict[str, Any]]:
    nginx = manifest.nginx
    labels = _labels(names, "nginx", "proxy", image_tag(nginx.image))
    selector = _selector(names, "nginx", "proxy")
    conf = nginx_conf(manifest, names, namespace, digest=digest)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(names.nginx, namespace, labels),
        "data": {"nginx.conf": conf},
    }
    volumes, mounts = _empty_dirs(
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
    container = _sidecar_container(
        "nginx", nginx.image, nginx_container_port(manifest), probe, mounts
    )
    deployment = _deployment(
        names=names,
        namespace=namespace,
        name=names.nginx,
        labels=labels,
        selector=selector,
        replicas=2,
        uid=NGINX_UID,
        container=container,
        volumes=volumes,
        # A changed nginx.conf changes the pod template, so the Deployment rolls.
        annotations={"swiftdeploy.io/config-sha256": hashlib.sha256(conf.encode()).hexdigest()},
    )
    # The Service answers on nginx.port whatever port the container listens on.
    service = _service(names, namespace, names.nginx, labels, selector, nginx.port)
    return [config_map, deployment, service]


def _sidecar_container(
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
        "resources": _resources("50m", "128Mi", "500m"),
        "volumeMounts": mounts,
    }


def _policy_config_key(rel: str) -> str:
    key = rel.replace("/", ".")
    if not _CONFIGMAP_KEY_RE.fullmatch(key) or len(key) > 253:
        raise UsageError(f"policy file {rel!r} cannot be a ConfigMap key")
    return key


def _opa_objects(
    names: Names, namespace: str, policies: Mapping[str, str], policy_digest: str
) -> list[dict[str, Any]]:
    labels = _labels(names, "opa", "policy", image_tag(OPA_IMAGE))
    selector = _selector(names, "opa", "policy")
    keys = {rel: _policy_config_key(rel) for rel in sorted(policies)}
    if len(set(keys.values())) != len(keys):
        raise UsageError("two policy files map to the same ConfigMap key")
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(names.opa, namespace, labels),
        "data": {keys[rel]: policies[rel] for rel in keys},
    }
    volumes, mounts = _empty_dirs({"tmp": CONTAINER_TMP})
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
    container = _sidecar_container("opa", OPA_IMAGE, OPA_PORT, probe, mounts)
    container["args"] = ["run", "--server", "--addr", f"0.0.0.0:{OPA_PORT}", "/policies"]
    deployment = _deployment(
        names=names,
        namespace=namespace,
        name=names.opa,
        labels=labels,
        selector=selector,
        replicas=1,
        uid=OPA_UID,
        container=container,
        volumes=volumes,
        annotations={"swiftdeploy.io/policy-digest": policy_digest},
    )
    service = _service(names, namespace, names.opa, labels, selector, OPA_PORT)
    return [config_map, deployment, service]


def _network_policy(
    names: Names, namespace: str, name: str, spec: dict[str, Any]
) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/instance": names.app,
        "app.kubernetes.io/part-of": names.app,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace, labels),
        "spec": spec,
    }


def _network_policies(
    manifest: Manifest, names: Names, namespace: str, traffic: Traffic
) -> list[dict[str, Any]]:
    svc = manifest.services
    instance = {"app.kubernetes.io/instance": names.app}
    app_port = [{"port": svc.port, "protocol": "TCP"}]
    # Stable and canary pods (services.name can never be "nginx" or "opa").
    app_pods = {"app.kubernetes.io/name": svc.name, **instance}
    policies = [
        # Everything this deployment runs denies ingress unless a policy below admits it.
        _network_policy(
            names,
            namespace,
            f"{names.app}-default-deny",
            {"podSelector": {"matchLabels": instance}, "policyTypes": ["Ingress"]},
        ),
        # OPA answers only the namespace the CLI runs in: never nginx or the app pods.
        _network_policy(
            names,
            namespace,
            names.opa,
            {
                "podSelector": {"matchLabels": _selector(names, "opa", "policy")},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": dict([CONTROL_LABEL])}}],
                        "ports": [{"port": OPA_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        ),
    ]
    if traffic == "nginx":
        from_nginx = [{"podSelector": {"matchLabels": _selector(names, "nginx", "proxy")}}]
        policies += [
            _network_policy(
                names,
                namespace,
                names.nginx,
                {
                    "podSelector": {"matchLabels": _selector(names, "nginx", "proxy")},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"ports": [{"port": nginx_container_port(manifest), "protocol": "TCP"}]}
                    ],
                },
            ),
            _network_policy(
                names,
                namespace,
                f"{svc.name}-app",
                {
                    "podSelector": {"matchLabels": app_pods},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": from_nginx, "ports": app_port}],
                },
            ),
        ]
    else:
        # The Gateway's data plane lives in a namespace of the cluster operator's choosing.
        policies.append(
            _network_policy(
                names,
                namespace,
                f"{svc.name}-app",
                {
                    "podSelector": {"matchLabels": app_pods},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"ports": app_port}],
                },
            )
        )
    return policies


def _http_route(manifest: Manifest, names: Names, namespace: str) -> dict[str, Any]:
    svc = manifest.services
    weight = manifest.canary.weight if svc.mode == "canary" else 0

    def backend(name: str, share: int) -> dict[str, Any]:
        return {"name": name, "port": svc.port, "weight": share}

    def pinned(value: str, name: str) -> dict[str, Any]:
        # Mirrors nginx's `X-Canary: always|never`.
        return {
            "matches": [
                {
                    "path": {"type": "PathPrefix", "value": "/"},
                    "headers": [{"type": "Exact", "name": "X-Canary", "value": value}],
                }
            ],
            "backendRefs": [backend(name, 1)],
        }

    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _meta(names.app, namespace, _labels(names, svc.name, "route", svc.version)),
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME}],
            "rules": [
                pinned("always", names.canary),
                pinned("never", names.stable),
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        backend(names.stable, 100 - weight),
                        backend(names.canary, weight),
                    ],
                },
            ],
        },
    }


def kubernetes_objects(
    manifest: Manifest,
    *,
    digest: str,
    policies: Mapping[str, str],
    policy_digest: str,
    namespace: str = DEFAULT_NAMESPACE,
    traffic: Traffic = "nginx",
) -> list[dict[str, Any]]:
    """Every object, as plain data, in apply order (kind, then name)."""
    names = check_names(manifest, namespace)
    svc = manifest.services
    namespace_object = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }
    objects: list[dict[str, Any]] = [namespace_object]
    for track in ("stable", "canary"):
        objects.append(_app_deployment(manifest, names, namespace, track))
        objects.append(
            _service(
                names,
                namespace,
                names.stable if track == "stable" else names.canary,
                _labels(names, svc.name, track, svc.version),
                _selector(names, svc.name, track),
                svc.port,
            )
        )
    stable_labels = _labels(names, svc.name, "stable", svc.version)
    objects.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(names.stable, namespace, stable_labels),
            "spec": {
                "minAvailable": 1,
                "selector": {"matchLabels": _selector(names, svc.name, "stable")},
            },
        }
    )
    if traffic == "nginx":
        objects += _nginx_objects(manifest, names, namespace, digest)
    else:
        objects.append(_http_route(manifest, names, namespace))
    objects += _opa_objects(names, namespace, policies, policy_digest)
    objects += _network_policies(manifest, names, namespace, traffic)
    order = list(FILES)
    return sorted(objects, key=lambda obj: (order.index(obj["kind"]), obj["metadata"]["name"]))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (nginx.conf, Rego) as literal blocks and
    never anchors/aliases (shared dicts such as probes are written out in full)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_documents(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(
        yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
        for obj in objects
    )


def render_kubernetes(
    manifest: Manifest,
    *,
    digest: str,
    policies: Mapping[str, str],
    policy_digest: str,
    namespace: str = DEFAULT_NAMESPACE,
    traffic: Traffic = "nginx",
) -> dict[str, str]:
    """File name -> text, one multi-document file per kind."""
    objects = kubernetes_objects(
        manifest,
        digest=digest,
        policies=policies,
        policy_digest=policy_digest,
        namespace=namespace,
        traffic=traffic,
    )
    header = f"# {GENERATED_NOTE}\n# manifest sha256: {digest}\n"
    files: dict[str, str] = {}
    for kind, file_name in FILES.items():
        group = [obj for obj in objects if obj["kind"] == kind]
        if group:
            files[file_name] = header + dump_documents(group)
    return files


def policy_files_for(root: Path) -> tuple[dict[str, str], str]:
    """(relative path -> text, digest) of the policies OPA should serve, tests excluded."""
    from swiftdeploy.policy.sources import policy_digest, policy_files

    files = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in policy_files(root)
    }
    return files, policy_digest(root)


def load_documents(paths: list[Path]) -> list[dict[str, Any]]:
    """Every YAML document in paths (skipping empty ones), for the hardening check."""
    objects: list[dict[str, Any]] = []
    for path in paths:
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise UsageError(f"{path}: cannot read Kubernetes YAML: {exc}") from exc
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict):
                raise UsageError(f"{path}: a document is not a mapping")
            objects.append(document)
    return objects


HARDENING_DOMAIN = "kubernetes_hardening"


def hardening_dir() -> Path:
    """The shipped hardening policy (a sibling of defaults/, so never copied by `init`)."""
    from importlib import resources

    return Path(str(resources.files("swiftdeploy.policy") / "hardening"))


def check_hardening(objects: list[dict[str, Any]], *, policies_dir: Path | None = None) -> Decision:
    """The hardening policy's decision on these objects, from the embedded engine."""
    import json

    from swiftdeploy.policy.embedded import EmbeddedEngine

    # Through JSON, so YAML timestamps and the like reach the engine as plain strings.
    document = json.loads(json.dumps({"objects": objects}, default=str))
    engine = EmbeddedEngine(policies_dir or hardening_dir())
    return engine.evaluate(HARDENING_DOMAIN, document)


def yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    found = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not found:
        raise UsageError(f"{folder}: no .yaml files to check")
    return found


@dataclass(frozen=True)
class RenderResult:
    out: Path
    written: list[Path]  # rewritten because they differed
    unchanged: list[Path]
    removed: list[Path]  # files of ours that the current rendering no longer produces


def write_kubernetes(
    manifest_path: Path,
    *,
    out: Path | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    traffic: Traffic = "nginx",
) -> RenderResult:
    """Render into `out` (default k8s/ beside the manifest), all files at once."""
    from swiftdeploy.files import atomic_write_many
    from swiftdeploy.manifest import parse_manifest, read_manifest_bytes
    from swiftdeploy.policy.sources import defaults_dir
    from swiftdeploy.project import Project

    project = Project.at(manifest_path)
    data = read_manifest_bytes(project.manifest_path)
    manifest = parse_manifest(data, str(manifest_path))
    policies_root = project.policies_dir if project.policies_dir.is_dir() else defaults_dir()
    policies, policy_digest = policy_files_for(policies_root)
    rendered = render_kubernetes(
        manifest,
        digest=hashlib.sha256(data).hexdigest(),
        policies=policies,
        policy_digest=policy_digest,
        namespace=namespace,
        traffic=traffic,
    )
    folder = out if out is not None else project.root / "k8s"
    wanted = {folder / name: text for name, text in rendered.items()}
    stale = {path: text for path, text in wanted.items() if _read(path) != text}
    if stale:
        atomic_write_many(stale)
    removed = []
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            text = _read(path) if OWNED_FILE_RE.fullmatch(path.name) else None
            if path not in wanted and text is not None and text.startswith(f"# {GENERATED_NOTE}"):
                path.unlink()
                removed.append(path)
    return RenderResult(
        out=folder,
        written=sorted(stale),
        unchanged=sorted(set(wanted) - set(stale)),
        removed=removed,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None
