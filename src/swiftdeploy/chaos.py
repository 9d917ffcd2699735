"""Chaos on the running canary: a convenience over its `POST /chaos`, with the runtime's token."""

from __future__ import annotations

from typing import Any

import httpx

from swiftdeploy.errors import SwiftDeployError, UsageError
from swiftdeploy.lifecycle import Deployment, Outcome


def chaos_request(
    mode: str, *, duration: float | None = None, rate: float | None = None, ttl: float | None = None
) -> dict[str, Any]:
    """The body `chaos MODE` sends, with the defaults: slow 1 s, errors on half the requests."""
    body: dict[str, Any] = {"mode": mode}
    if mode == "slow":
        body["duration"] = duration if duration is not None else 1.0
    if mode == "error":
        body["rate"] = rate if rate is not None else 0.5
    if ttl is not None and mode != "recover":
        body["ttl"] = ttl
    return body


def send_chaos(deployment: Deployment, body: dict[str, Any]) -> Outcome:
    with deployment.project.lock(f"chaos {body.get('mode')}"):
        state = deployment.runtime.load()
        canary = state.canary_instance()
        if canary is None:
            raise UsageError(
                "chaos needs a running canary", hint="run 'swiftdeploy promote canary' first"
            )
        headers = {}
        token = deployment.chaos_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with deployment.runtime.client(canary, timeout=5.0) as client:
                response = client.post("/chaos", json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SwiftDeployError(f"cannot reach the canary {canary.id}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:
                detail = response.text
            raise SwiftDeployError(f"the canary refused the chaos request: {detail}")
        deployment.history.append("chaos", {"instance": canary.id, **body})
    summary = (
        f"chaos cleared on {canary.id}"
        if body["mode"] == "recover"
        else f"chaos {body['mode']} active on {canary.id}"
    )
    return Outcome("chaos", True, summary, {"body": body})
