"""The Kubernetes hardening check: the shipped Rego policy, run by the embedded engine."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swiftdeploy.policy.decision import Decision

HARDENING_DOMAIN = "kubernetes_hardening"


def hardening_dir() -> Path:
    """The shipped hardening policy (a sibling of defaults/, so never copied by `init`)."""
    return Path(str(resources.files("swiftdeploy.policy") / "hardening"))


def check_hardening(objects: list[dict[str, Any]], *, policies_dir: Path | None = None) -> Decision:
    """The hardening policy's decision on these objects, from the embedded engine."""
    import json

    from swiftdeploy.policy.embedded import EmbeddedEngine

    # Through JSON, so YAML timestamps and the like reach the engine as plain strings.
    document = json.loads(json.dumps({"objects": objects}, default=str))
    engine = EmbeddedEngine(policies_dir or hardening_dir())
    return engine.evaluate(HARDENING_DOMAIN, document)
