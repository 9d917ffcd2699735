"""The dashboard's HTTP side: a Starlette app (one JSON endpoint per panel, SSE, controls).

    GET  /                       the page (static, shipped in the package)
    GET  /static/<file>          its script, style sheet and icon
    GET  /api/<panel>            overview | tracks | rollout | decisions | history | host
    GET  /api/snapshot           every panel at once (what the stream sends)
    GET  /api/events             server-sent events: a `snapshot` event per sample
    POST /api/control/<action>   pause | resume | abort | set-weight | promote-stable | rollback

Every answer is JSON (errors too: `{"error": ...}` with a 4xx status for bad requests).
docs/dashboard.md documents each endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from swiftdeploy.cli.policy_output import error_text
from swiftdeploy.dashboard import actions
from swiftdeploy.dashboard.monitor import PANELS, Monitor
from swiftdeploy.dashboard.security import Guard, Message, Receive, Scope, Send, bearer
from swiftdeploy.dashboard.security import token_matches as matches
from swiftdeploy.errors import (
    LockBusy,
    PolicyDenied,
    PolicyUnavailable,
    SwiftDeployError,
    UsageError,
)

log = logging.getLogger("swiftdeploy.dashboard")

ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
MAX_BODY = 4096
KEEPALIVE_S = 15.0


@dataclass(frozen=True)
class Settings:
    manifest_path: Path
    bind: str = "127.0.0.1"
    port: int = 8090
    read_only: bool = False
    token: str = ""  # empty in read-only mode: no control can match it
    interval_s: float = 2.0


class Hub:
    """Wakes the stream of every viewer when a new snapshot is ready."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.poke = asyncio.Event()

    def publish(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


def asset(name: str) -> bytes:
    return resources.files("swiftdeploy.dashboard").joinpath("assets", name).read_bytes()


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Api:
    """The endpoints, around one monitor and one hub."""

    def __init__(self, settings: Settings, monitor: Monitor) -> None:
        self.settings = settings
        self.monitor = monitor
        self.hub = Hub()

    async def sampler(self) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.monitor.tick)
            except Exception:  # keep serving the last snapshot; the log has the bug
                log.exception("sampling failed")
            self.hub.publish()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hub.poke.wait(), timeout=self.settings.interval_s)
            self.hub.poke.clear()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self.sampler())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def index(self, _request: Request) -> Response:
        return Response(asset("index.html"), media_type="text/html; charset=utf-8")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return error(404, f"no asset {name!r}")
        return Response(asset(name), media_type=ASSETS[name])

    async def _ready(self) -> None:
        if not self.monitor.snapshot:
            await anyio.to_thread.run_sync(self.monitor.tick)

    async def panel(self, request: Request) -> Response:
        name = request.path_params["panel"]
        if name not in PANELS:
            return error(404, f"no panel {name!r}", panels=list(PANELS))
        await self._ready()
        return JSONResponse(self.monitor.panel(name), headers={"cache-control": "no-store"})

    async def snapshot(self, _request: Request) -> Response:
        await self._ready()
        body = {**self.monitor.snapshot, "overview": self.monitor.panel("overview")}
        return JSONResponse(body, headers={"cache-control": "no-store"})

    def _refused(self, request: Request) -> Response | None:
        """Why this control request may not run, or None when it may."""
        action = request.path_params["action"]
        if self.settings.read_only:
            return error(403, "controls are disabled: this dashboard runs read-only")
        if action not in actions.CONTROLS:
            return error(404, f"no control {action!r}", controls=list(actions.CONTROLS))
        given = bearer(request.headers.raw)
        if given is None:
            return error(401, "this control needs the dashboard token (Authorization: Bearer)")
        if not matches(given, self.settings.token):
            return error(403, "wrong dashboard token")
        return None

    async def control(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        action = request.path_params["action"]
        weight = await _weight(request, action)
        if isinstance(weight, Response):
            return weight
        reporter = actions.CollectingReporter()
        try:
            deployment = actions.open_deployment(self.settings.manifest_path, reporter)
            outcome = await anyio.to_thread.run_sync(actions.control, deployment, action, weight)
        except SwiftDeployError as exc:
            return _failure(exc, reporter.lines)
        finally:
            self.hub.poke.set()
        body = {"ok": True, "action": action, "summary": outcome.summary, "log": reporter.lines}
        return JSONResponse(body)


async def _http_error(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return error(exc.status_code, str(exc.detail))
    return error(404, "not found")


def create_app(settings: Settings, monitor: Monitor | None = None) -> Guard:
    api = Api(settings, monitor or Monitor(settings.manifest_path, read_only=settings.read_only))
    app = Starlette(
        routes=[
            Route("/", api.index),
            Route("/static/{name}", api.static),
            Route("/api/events", EventStream(api.monitor, api.hub)),
            Route("/api/snapshot", api.snapshot),
            Route("/api/control/{action}", api.control, methods=["POST"]),
            Route("/api/{panel}", api.panel),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=api.lifespan,
    )
    app.state.monitor = api.monitor
    return Guard(app, bind=settings.bind, port=settings.port)


async def _weight(request: Request, action: str) -> int | Response | None:  # noqa: PLR0911
    """The body of a control: `{"weight": N}` for set-weight, nothing (or `{}`) otherwise."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error(413, f"the body is larger than {MAX_BODY} bytes")
    if raw.strip():
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(415, "send the body as application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            return error(400, "the body is not valid JSON")
    else:
        body = {}
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object")
    if action != "set-weight":
        return None if not body else error(400, f"{action} takes no parameters")
    weight = body.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        return error(400, 'set-weight needs {"weight": an integer from 0 to 100}')
    return weight


def _failure(exc: SwiftDeployError, lines: list[str]) -> JSONResponse:
    """A core error as JSON: the state forbids it (409), the engine is down (503)..."""
    status = 409
    extra: dict[str, Any] = {"log": lines}
    if isinstance(exc, PolicyDenied):
        extra["reasons"] = exc.reasons
    elif isinstance(exc, PolicyUnavailable):
        status = 503
    elif not isinstance(exc, UsageError | LockBusy):
        status = 502  # the action was tried and something it drives failed
    if exc.hint:
        extra["hint"] = exc.hint
    return error(status, error_text(exc), **extra)


class EventStream:
    """GET /api/events: a raw ASGI endpoint, so a client that leaves ends its stream at once."""

    def __init__(self, monitor: Monitor, hub: Hub) -> None:
        self.monitor = monitor
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            response = error(405, "use GET")
            await response(scope, receive, send)
            return
        self.monitor.viewers += 1
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            async with anyio.create_task_group() as group:
                group.start_soon(self._until_disconnect, receive, group.cancel_scope)
                await self._stream(send)
        except OSError:
            pass  # the client went away mid-send
        finally:
            self.monitor.viewers -= 1

    @staticmethod
    async def _until_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return

    async def _stream(self, send: Send) -> None:
        sent = -1
        while True:
            if self.monitor.version != sent and self.monitor.snapshot:
                sent = self.monitor.version
                data = f"event: snapshot\nid: {sent}\ndata: {self.monitor.encoded}\n\n"
            else:
                data = ": keep-alive\n\n"
            await send({"type": "http.response.body", "body": data.encode(), "more_body": True})
            changed = self.hub.changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=KEEPALIVE_S)


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both and drains)."""
    import uvicorn

    config = uvicorn.Config(
        create_app(settings),
        host=settings.bind,
        port=settings.port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=3,
        http="h11",
        ws="none",
    )
    uvicorn.Server(config).run()
