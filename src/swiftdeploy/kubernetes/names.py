"""Object names, labels and the constants every Kubernetes object shares."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from swiftdeploy.errors import UsageError
from swiftdeploy.manifest import Manifest

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
CONFIGMAP_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")
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


def object_labels(names: Names, name: str, component: str, version: str) -> dict[str, str]:
    return {
        **selector_labels(names, name, component),
        "app.kubernetes.io/version": label_value(version),
        "app.kubernetes.io/part-of": names.app,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector_labels(names: Names, name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": names.app,
        "app.kubernetes.io/component": component,
    }


def object_meta(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def service_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"


def weighted_slots(stable: str, canary: str, weight: int) -> tuple[str, ...]:
    """nginx's weighted upstream as repeated servers: `weight`% canary, in lowest terms."""
    divisor = math.gcd(weight, 100)
    total, to_canary = 100 // divisor, weight // divisor
    return tuple([canary] * to_canary + [stable] * (total - to_canary))
