"""A service SwiftDeploy did not write, run by a stock server (`python -m uvicorn --uds`).

Plain ASGI, no SwiftDeploy code: `/` answers text (no JSON, no mode, no /metrics), and
`GREETING` (from services.env) is part of the answer, so a test sees the manifest's
environment reach the process.

    app       200 "v1 <GREETING>" on every path but /metrics (404)
    app_v2    the same with "v2": the second command a canary runs
    warming   503 "warming up" on every path: a canary that never becomes healthy
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _service(version: str, status: int = 200) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the server runs with --lifespan off
            return
        code, text = status, f"{version} {os.environ.get('GREETING', '')}".strip()
        if status != 200:
            text = "warming up"
        elif scope["path"] == "/metrics":
            code, text = 404, "no metrics here"
        body = text.encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return serve


app = _service("v1")
app_v2 = _service("v2")
warming = _service("v1", status=503)
