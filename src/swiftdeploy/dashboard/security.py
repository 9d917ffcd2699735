"""What keeps the dashboard safe on a shared host: Host check, strict headers, the token.

- DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still sends
  `Host: evil.example`, so only the bound address (or `localhost` on loopback) passes.
  On a wildcard bind any IP literal passes: a rebinding attack needs a name.
- Every response carries a Content-Security-Policy that allows only the page's own
  script, styles and connections (no inline script, no framing, no form posts).
- Controls need the deployment's token in the `Authorization: Bearer` header, compared
  in constant time; a header, not a cookie, so another site cannot make the browser send it.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def is_loopback(bind: str) -> bool:
    return ipaddress.ip_address(bind).is_loopback


def is_wildcard(bind: str) -> bool:
    return ipaddress.ip_address(bind).is_unspecified


def host_allowed(host_header: str, bind: str, port: int) -> bool:
    """Is this Host header one the dashboard answers to (DNS-rebinding check)?"""
    host, sep, port_text = host_header.strip().rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if not sep or (":" in host and not bracketed) or port_text != str(port):
        return False  # no port, another port, or an unbracketed IPv6 literal
    name = host[1:-1] if bracketed else host
    name = name.lower()
    if name == "localhost":
        return is_loopback(bind) or is_wildcard(bind)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return is_wildcard(bind) and name == socket.gethostname().lower()
    return is_wildcard(bind) or address == ipaddress.ip_address(bind)


def token_matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class Guard:
    """ASGI middleware: refuse foreign Host headers, add the security headers everywhere."""

    def __init__(self, app: ASGIApp, *, bind: str, port: int) -> None:
        self.app = app
        self.bind = bind
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1")
        if not host_allowed(host, self.bind, self.port):
            await refuse(send, 421, f"Host {host!r} is not this dashboard's address")
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, secured)


async def refuse(send: Send, status: int, error: str) -> None:
    import json

    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
