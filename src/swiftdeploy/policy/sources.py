"""The policy files an engine loads, and the digest that identifies them in the history."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from swiftdeploy.errors import PolicyUnavailable


def defaults_dir() -> Path:
    """The policies shipped inside the package (infra, canary)."""
    return Path(str(resources.files("swiftdeploy.policy") / "defaults"))


@dataclass(frozen=True)
class PolicySources:
    """Policy modules and data documents of one policies/ folder, as OPA would load them."""

    root: Path
    modules: dict[str, str]  # relative path -> Rego source (tests excluded)
    data: dict[str, Any]  # merged data document, namespaced by folder like `opa run`
    digest: str


def _is_policy_file(path: Path) -> bool:
    if path.suffix == ".rego":
        return not path.name.endswith("_test.rego")
    return path.name == "data.json"


def policy_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and _is_policy_file(p))


def policy_digest(root: Path) -> str:
    """sha256 over the sorted policy and data files (path and content), tests excluded."""
    sha = hashlib.sha256()
    for path in policy_files(root):
        rel = path.relative_to(root).as_posix().encode()
        body = path.read_bytes()
        sha.update(len(rel).to_bytes(8, "big") + rel + len(body).to_bytes(8, "big") + body)
    return "sha256:" + sha.hexdigest()


def load_sources(root: Path) -> PolicySources:
    if not root.is_dir():
        raise PolicyUnavailable(f"policy engine unavailable: no policies folder at {root}")
    modules: dict[str, str] = {}
    data: dict[str, Any] = {}
    for path in policy_files(root):
        rel = path.relative_to(root)
        if path.suffix == ".rego":
            modules[rel.as_posix()] = path.read_text(encoding="utf-8")
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise PolicyUnavailable(f"policy engine unavailable: {rel}: {exc}") from exc
        _merge_at(data, list(rel.parent.parts), document, rel)
    return PolicySources(root=root, modules=modules, data=data, digest=policy_digest(root))


def _merge_at(data: dict[str, Any], parts: list[str], document: Any, rel: Path) -> None:
    node = data
    for part in parts:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise PolicyUnavailable(f"policy engine unavailable: {rel} conflicts with other data")
        node = child
    if not parts:
        if not isinstance(document, dict):
            raise PolicyUnavailable(f"policy engine unavailable: {rel} must hold an object")
        node.update(document)
        return
    if isinstance(document, dict):
        node.update(document)
    else:
        raise PolicyUnavailable(f"policy engine unavailable: {rel} must hold an object")
