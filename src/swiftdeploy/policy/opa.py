"""The OPA engine: the real Open Policy Agent server, asked through its REST Data API.

Each decision is asked with `?provenance=true`, so OPA says, in the same answer, which
bundle revision evaluated it. For the server SwiftDeploy runs that revision is the
policies' digest: when it is not the digest of the files on disk (they were edited), the
bundle is rebuilt and the decision asked again, and a decision is only ever recorded with
the digest of the policy that made it. An OPA that reports a different revision and
cannot be reloaded from here is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.policy.decision import Decision, check_domain, decision_from_json
from swiftdeploy.policy.sources import policy_digest


class OpaServerEngine:
    name = "opa"

    def __init__(
        self,
        url: str,
        policies_dir: Path,
        *,
        timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        reload: Callable[[], str] | None = None,
        reload_timeout_s: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.policies_dir = policies_dir
        self.timeout_s = timeout_s
        self.reload = reload  # rebuilds the served bundle; None for an OPA we do not run
        self.reload_timeout_s = reload_timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # One keep-alive connection for the whole run: a new TCP handshake per decision
        # would dominate the loopback latency.
        self._client = httpx.Client(timeout=timeout_s, transport=transport, headers=headers)
        self._digest: str | None = None

    @property
    def policy_digest(self) -> str:
        # The digest names the files the server was started from; it cannot be asked.
        if self._digest is None:
            self._digest = policy_digest(self.policies_dir) if self.policies_dir.is_dir() else ""
        return self._digest

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpaServerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def evaluate(self, domain: str, input: dict[str, Any]) -> Decision:
        check_domain(domain)
        deadline = time.monotonic() + self.reload_timeout_s
        reloaded = False
        while True:
            wanted = policy_digest(self.policies_dir) if self.policies_dir.is_dir() else ""
            started = time.perf_counter()
            payload = self._ask(domain, input)
            elapsed = time.perf_counter() - started
            revision = _revision(payload)
            if revision == wanted or (revision is None and self.reload is None):
                break
            if self.reload is None:
                raise PolicyUnavailable(
                    f"policy engine unavailable: OPA at {self.url} evaluated policy revision "
                    f"{revision}, but the policies on disk are {wanted}"
                )
            if time.monotonic() >= deadline:
                raise PolicyUnavailable(
                    f"policy engine unavailable: OPA did not load the policies on disk "
                    f"({wanted}) within {self.reload_timeout_s:g}s; it still serves {revision}"
                )
            if not reloaded or revision is None:
                self.reload()
                reloaded = True
            time.sleep(0.02)
        self._digest = revision or wanted
        decision = decision_from_json(domain, payload)
        return replace(
            decision,
            engine=self.name,
            policy_digest=self._digest,
            duration_ms=round(elapsed * 1000, 3),
            input=input,
        )

    def _ask(self, domain: str, input: dict[str, Any]) -> Any:
        endpoint = f"{self.url}/v1/data/{domain}"
        try:
            response = self._client.post(
                endpoint, params={"provenance": "true"}, json={"input": input}
            )
        except httpx.TimeoutException as exc:
            raise PolicyUnavailable(
                f"policy engine unavailable: OPA at {self.url} did not answer within "
                f"{self.timeout_s:g}s"
            ) from exc
        except httpx.HTTPError as exc:
            raise PolicyUnavailable(
                f"policy engine unavailable: cannot reach OPA at {self.url}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise PolicyUnavailable(
                f"policy engine unavailable: OPA answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise PolicyUnavailable(
                f"policy engine unavailable: OPA answered malformed JSON: {exc}"
            ) from exc


def _revision(payload: Any) -> str | None:
    """The one bundle revision OPA's provenance names, or None when it names none."""
    if not isinstance(payload, dict):
        return None
    provenance = payload.get("provenance")
    bundles = provenance.get("bundles") if isinstance(provenance, dict) else None
    if not isinstance(bundles, dict):
        return None
    revisions = {b.get("revision") for b in bundles.values() if isinstance(b, dict)}
    if len(revisions) != 1:
        return None
    revision = revisions.pop()
    return revision if isinstance(revision, str) else None
