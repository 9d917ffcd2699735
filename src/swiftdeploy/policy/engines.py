"""The one engine interface, and the factory that picks an engine from the manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import httpx

from swiftdeploy.errors import UsageError
from swiftdeploy.policy.decision import Decision


class PolicyEngine(Protocol):
    name: str

    @property
    def policy_digest(self) -> str: ...

    def evaluate(self, domain: str, input: dict[str, Any]) -> Decision:
        """Answer a decision, or raise PolicyUnavailable when no answer can be had."""
        ...


class PolicySettings(Protocol):
    """What the gate needs from the manifest's `policy:` section (manifest.PolicyConfig)."""

    @property
    def engine(self) -> str: ...

    @property
    def on_unavailable(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...

    @property
    def opa_port(self) -> int: ...


_embedded_cache: dict[Path, PolicyEngine] = {}

OPA_URL_ENV = "SWIFTDEPLOY_OPA_URL"


def external_opa_url() -> str | None:
    """An OPA the operator runs (SWIFTDEPLOY_OPA_URL): asked instead of starting one.

    The only place the variable is read; the local runtime then starts no OPA server.
    """
    return os.environ.get(OPA_URL_ENV) or None


def engine_for(
    policy_config: PolicySettings,
    policies_dir: Path,
    *,
    url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PolicyEngine:
    """The engine the manifest asks for; embedded engines are compiled once per process."""
    from swiftdeploy.policy.embedded import EmbeddedEngine
    from swiftdeploy.policy.opa import OpaServerEngine

    if policy_config.engine == "embedded":
        key = policies_dir.resolve()
        engine = _embedded_cache.get(key)
        if engine is None:
            engine = _embedded_cache[key] = EmbeddedEngine(key)
        return engine
    if policy_config.engine == "opa":
        return OpaServerEngine(
            url or external_opa_url() or f"http://127.0.0.1:{policy_config.opa_port}",
            policies_dir,
            timeout_s=policy_config.timeout_s,
            transport=transport,
        )
    raise UsageError(f"unknown policy engine {policy_config.engine!r} (use embedded or opa)")
