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
        given = url or external_opa_url()
        if given:
            return OpaServerEngine(
                given, policies_dir, timeout_s=policy_config.timeout_s, transport=transport
            )
        return own_server_engine(
            policies_dir, port=policy_config.opa_port, timeout_s=policy_config.timeout_s,
            transport=transport,
        )  # fmt: skip
    raise UsageError(f"unknown policy engine {policy_config.engine!r} (use embedded or opa)")


def own_server_engine(
    policies_dir: Path,
    *,
    port: int,
    timeout_s: float = 2.0,
    transport: httpx.BaseTransport | None = None,
) -> PolicyEngine:
    """The engine for the OPA this project runs: with its token, and able to reload it.

    Its token and bundle live in the project's state folder, beside policies/.
    """
    from swiftdeploy.policy.opa import OpaServerEngine
    from swiftdeploy.policy.server import read_token, rebuild_bundle

    state_dir = policies_dir.parent / ".swiftdeploy"
    token = read_token(state_dir)
    return OpaServerEngine(
        f"http://127.0.0.1:{port}",
        policies_dir,
        timeout_s=timeout_s,
        transport=transport,
        token=token,
        reload=(lambda: rebuild_bundle(policies_dir, state_dir)) if token else None,
    )
