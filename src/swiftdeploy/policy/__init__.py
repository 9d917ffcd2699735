"""Policy gates: Rego policies decide, on the real OPA or embedded rego-cpp; fail closed.

Heavy modules (regopy, httpx) are imported by the submodules that need them.
"""

from __future__ import annotations

from swiftdeploy.policy.decision import Check, Decision, decision_from_json
from swiftdeploy.policy.engines import PolicyEngine, PolicySettings, engine_for
from swiftdeploy.policy.gate import GateDenied, gate

__all__ = [
    "Check",
    "Decision",
    "GateDenied",
    "PolicyEngine",
    "PolicySettings",
    "decision_from_json",
    "engine_for",
    "gate",
]
