"""NetworkPolicies (default deny, then only the flows SwiftDeploy needs) and the HTTPRoute."""

from __future__ import annotations

from typing import Any

from swiftdeploy.kubernetes.names import (
    CONTROL_LABEL,
    GATEWAY_API_VERSION,
    GATEWAY_NAME,
    MANAGED_BY,
    OPA_PORT,
    Names,
    Traffic,
    object_labels,
    object_meta,
    selector_labels,
)
from swiftdeploy.kubernetes.proxy import nginx_container_port
from swiftdeploy.manifest import Manifest


def network_policy(names: Names, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/instance": names.app,
        "app.kubernetes.io/part-of": names.app,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(name, namespace, labels),
        "spec": spec,
    }


def network_policies(
    manifest: Manifest, names: Names, namespace: str, traffic: Traffic
) -> list[dict[str, Any]]:
    svc = manifest.services
    instance = {"app.kubernetes.io/instance": names.app}
    app_port = [{"port": svc.port, "protocol": "TCP"}]
    # Stable and canary pods (services.name can never be "nginx" or "opa").
    app_pods = {"app.kubernetes.io/name": svc.name, **instance}
    policies = [
        # Everything this deployment runs denies ingress unless a policy below admits it.
        network_policy(
            names,
            namespace,
            f"{names.app}-default-deny",
            {"podSelector": {"matchLabels": instance}, "policyTypes": ["Ingress"]},
        ),
        # OPA answers only the namespace the CLI runs in: never nginx or the app pods.
        network_policy(
            names,
            namespace,
            names.opa,
            {
                "podSelector": {"matchLabels": selector_labels(names, "opa", "policy")},
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
        from_nginx = [{"podSelector": {"matchLabels": selector_labels(names, "nginx", "proxy")}}]
        policies += [
            network_policy(
                names,
                namespace,
                names.nginx,
                {
                    "podSelector": {"matchLabels": selector_labels(names, "nginx", "proxy")},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"ports": [{"port": nginx_container_port(manifest), "protocol": "TCP"}]}
                    ],
                },
            ),
            network_policy(
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
            network_policy(
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


def http_route(manifest: Manifest, names: Names, namespace: str) -> dict[str, Any]:
    svc = manifest.services
    weight = manifest.canary.weight if svc.mode == "canary" else 0

    def backend(name: str, share: int) -> dict[str, Any]:
        return {"name": name, "port": svc.port, "weight": share}

    header = manifest.canary.header_override

    def pinned(value: str, name: str) -> dict[str, Any]:
        # Mirrors nginx's `<header_override>: always|never`.
        return {
            "matches": [
                {
                    "path": {"type": "PathPrefix", "value": "/"},
                    "headers": [{"type": "Exact", "name": header, "value": value}],
                }
            ],
            "backendRefs": [backend(name, 1)],
        }

    # With header_override null no request can choose its track, as with nginx.
    pins = [pinned("always", names.canary), pinned("never", names.stable)] if header else []

    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": object_meta(
            names.app, namespace, object_labels(names, svc.name, "route", svc.version)
        ),
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME}],
            "rules": [
                *pins,
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
