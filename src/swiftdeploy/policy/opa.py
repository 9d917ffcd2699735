"""The OPA engine: the real Open Policy Agent server, asked through its REST Data API."""

from __future__ import annotations

import json
import time
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
    ) -> None:
        self.url = url.rstrip("/")
        self.policies_dir = policies_dir
        self.timeout_s = timeout_s
        # One keep-alive connection for the whole run: a new TCP handshake per decision
        # would dominate the loopback latency.
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
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
        endpoint = f"{self.url}/v1/data/{domain}"
        started = time.perf_counter()
        try:
            response = self._client.post(endpoint, json={"input": input})
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
            payload = json.loads(response.content)
        except ValueError as exc:
            raise PolicyUnavailable(
                f"policy engine unavailable: OPA answered malformed JSON: {exc}"
            ) from exc
        decision = decision_from_json(domain, payload)
        return replace(
            decision,
            engine=self.name,
            policy_digest=self.policy_digest,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            input=input,
        )
