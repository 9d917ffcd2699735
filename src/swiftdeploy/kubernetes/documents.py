"""All objects in apply order, dumped as deterministic multi-document YAML (one file per kind)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from swiftdeploy.errors import UsageError
from swiftdeploy.kubernetes.names import (
    DEFAULT_NAMESPACE,
    FILES,
    GENERATED_NOTE,
    MANAGED_BY,
    Traffic,
    check_names,
    object_labels,
    object_meta,
    selector_labels,
)
from swiftdeploy.kubernetes.network import http_route, network_policies
from swiftdeploy.kubernetes.proxy import nginx_objects, opa_objects
from swiftdeploy.kubernetes.workloads import app_deployment, service_object
from swiftdeploy.manifest import Manifest


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
        objects.append(app_deployment(manifest, names, namespace, track))
        objects.append(
            service_object(
                names,
                namespace,
                names.stable if track == "stable" else names.canary,
                object_labels(names, svc.name, track, svc.version),
                selector_labels(names, svc.name, track),
                svc.port,
            )
        )
    stable_labels = object_labels(names, svc.name, "stable", svc.version)
    objects.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": object_meta(names.stable, namespace, stable_labels),
            "spec": {
                "minAvailable": 1,
                "selector": {"matchLabels": selector_labels(names, svc.name, "stable")},
            },
        }
    )
    if traffic == "nginx":
        objects += nginx_objects(manifest, names, namespace, digest)
    else:
        objects.append(http_route(manifest, names, namespace))
    objects += opa_objects(names, namespace, policies, policy_digest)
    objects += network_policies(manifest, names, namespace, traffic)
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


def yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    found = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not found:
        raise UsageError(f"{folder}: no .yaml files to check")
    return found
