"""The demo service SwiftDeploy deploys: a plain ASGI app with Prometheus metrics and chaos.

Plain ASGI rather than a framework because every request passes through here and the
benchmark budget (see docs/benchmarks.md) leaves little room for routing layers. The random
source, both clocks and the sleep function are injected so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from swiftdeploy.clock import iso_utc
from swiftdeploy.demo.chaos import (
    Chaos,
    ChaosKind,
    ChaosRequestError,
    check_depth,
    parse_spec,
)
from swiftdeploy.demo.metrics import Metrics
from swiftdeploy.demo.openapi import spec_bytes
from swiftdeploy.demo.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("swiftdeploy.demo")

MAX_BODY_BYTES = 16 * 1024
# What an unread body is drained up to before answering: nginx's client_max_body_size (1m).
DRAIN_LIMIT_BYTES = 1024 * 1024
ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET",),
    "/healthz": ("GET",),
    "/metrics": ("GET",),
    "/chaos": ("GET", "POST"),
    "/openapi.json": ("GET",),
}
# Only these are "the application"; probes, metrics and the control plane stay unaffected
# by chaos so operators can always observe and recover.
CHAOS_ROUTES = frozenset({"/"})
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: bytes = b"application/json"
    headers: tuple[tuple[bytes, bytes], ...] = ()


def _json(status: int, payload: Mapping[str, Any], **headers: str) -> Response:
    extra = tuple((k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items())
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), headers=extra)


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return _json(status, {"error": code, "message": message, **extra})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_body(raw: bytes) -> object:
    """The JSON body, its depth bounded first; ChaosRequestError when it is not JSON."""
    try:
        text = raw.decode("utf-8")
        check_depth(text)
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ChaosRequestError("body", f"body is not valid JSON: {exc}") from None


class BodyTooLarge(Exception):
    pass


class DemoApp:
    """The ASGI callable. One instance per process; state lives on the instance."""

    def __init__(
        self,
        settings: Settings,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._started = clock()
        self.chaos = Chaos(clock=clock, rng=(rng or random.Random()).random)
        self.metrics: Metrics | None = (
            Metrics(settings, clock=clock, chaos=self.chaos) if settings.metrics_enabled else None
        )
        # The original task: canary mode adds `X-Mode: canary` to every response (errors
        # included); stable mode adds no X-Mode header at all.
        self._mode_headers: list[tuple[bytes, bytes]] = (
            [(b"x-mode", b"canary")] if settings.mode == "canary" else []
        )
        self._token = settings.chaos_token.encode() if settings.chaos_token else None
        openapi = Response(200, spec_bytes())
        self._handlers: dict[str, Callable[[], Response]] = {
            "/": self._root,
            "/healthz": self._healthz,
            "/metrics": self._metrics,
            "/openapi.json": lambda: openapi,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        route = path if path in ROUTES else "other"
        if self.metrics is not None:
            self.metrics.requests.in_flight += 1
        # Recorded if the server cancels us before we answer (nginx's "client closed" code).
        status = 499
        try:
            body = _Body(receive)
            try:
                response = await self._dispatch(method, path, scope, body)
            except Exception:
                # Only real bugs land here; every expected failure is answered explicitly.
                log.exception("unhandled error answering %s %s", method, path)
                response = _error(500, "internal_error", "internal server error")
            status = response.status
            # Answering before the body is read (a 405, a 413) and closing would make the
            # kernel reset the connection while nginx is still sending: nginx then gives the
            # client a 502 instead of our answer.
            await body.drain(DRAIN_LIMIT_BYTES)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", response.content_type),
                        (b"content-length", str(len(response.body)).encode()),
                        *self._mode_headers,
                        *response.headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": response.body})
        finally:
            if self.metrics is not None:
                self.metrics.requests.in_flight -= 1
                self.metrics.requests.observe(
                    method if method in _KNOWN_METHODS else "OTHER",
                    route,
                    status,
                    time.perf_counter() - started,
                )

    async def _dispatch(self, method: str, path: str, scope: Scope, receive: Receive) -> Response:
        allowed = ROUTES.get(path)
        if allowed is None:
            return _error(404, "not_found", f"no route for {path}")
        if method not in allowed:
            return _json(
                405,
                {
                    "error": "method_not_allowed",
                    "message": f"{method} is not allowed on {path}",
                    "allowed": list(allowed),
                },
                allow=", ".join(allowed),
            )
        if path in CHAOS_ROUTES:
            effect = self.chaos.effect()
            if effect.delay:
                await self._sleep(effect.delay)
            if effect.fail:
                return _error(500, "chaos_injected", "injected failure (chaos mode error)")
        if path == "/chaos":
            if method == "GET":
                return _json(200, self.chaos.state())
            return await self._post_chaos(scope, receive)
        return self._handlers[path]()

    def _timestamp(self) -> str:
        return iso_utc(datetime.fromtimestamp(self._wall_clock(), UTC), timespec="milliseconds")

    def _root(self) -> Response:
        mode = self.settings.mode
        return _json(
            200,
            {
                "message": f"Welcome to SwiftDeploy [{mode}]",
                "mode": mode,
                "version": self.settings.version,
                "timestamp": self._timestamp(),
            },
        )

    def _healthz(self) -> Response:
        uptime = round(self._clock() - self._started, 3)
        return _json(
            200,
            {
                "status": "ok",
                "mode": self.settings.mode,
                "version": self.settings.version,
                "uptime_seconds": uptime,
                "uptime": uptime,
            },
        )

    def _metrics(self) -> Response:
        if self.metrics is None:
            return _error(404, "metrics_disabled", "metrics are disabled (METRICS_ENABLED=0)")
        return Response(200, self.metrics.render(), content_type=CONTENT_TYPE_LATEST.encode())

    def _authorized(self, scope: Scope) -> bool:
        if self._token is None:
            return True
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    credentials.strip(), self._token
                )
        return False

    async def _post_chaos(self, scope: Scope, receive: Receive) -> Response:
        if self.settings.mode != "canary":
            return _error(403, "forbidden", "chaos is only available in canary mode")
        if not self._authorized(scope):
            response = _error(401, "unauthorized", "chaos requires Authorization: Bearer <token>")
            return Response(
                401, response.body, headers=((b"www-authenticate", b'Bearer realm="chaos"'),)
            )
        try:
            raw = await _read_body(scope, receive)
        except BodyTooLarge:
            return _error(
                413, "payload_too_large", f"body exceeds {MAX_BODY_BYTES} bytes", field="body"
            )
        try:
            spec = parse_spec(_decode_body(raw))
        except ChaosRequestError as exc:
            return _error(400, "bad_request", exc.message, field=exc.field)
        self.chaos.apply(spec)
        if spec.kind is ChaosKind.NONE:
            log.info("chaos recovered")
        else:
            log.warning("chaos injected: %s", self.chaos.state())
        return _json(200, self.chaos.state())


class _Body:
    """The request's receive channel, remembering whether the body was read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.done = False

    async def __call__(self) -> MutableMapping[str, Any]:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.done = True
        return message

    async def drain(self, limit: int) -> None:
        """Read and drop what is left of the body, up to limit bytes."""
        dropped = 0
        while not self.done and dropped <= limit:
            dropped += len((await self()).get("body", b""))


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = 0
            if declared > MAX_BODY_BYTES:
                raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    # Bounded by the size check: each round either grows `size` or ends the body.
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def create_app(
    settings: Settings | None = None,
    *,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DemoApp:
    """App factory; with no settings, configuration comes from the environment."""
    return DemoApp(
        settings if settings is not None else Settings.from_env(),
        rng=rng,
        clock=clock,
        wall_clock=wall_clock,
        sleep=sleep,
    )
