"""Contract tests of the demo service's HTTP API, in-process (no server, no sockets)."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from swiftdeploy.demo.app import MAX_BODY_BYTES, DemoApp, create_app
from swiftdeploy.demo.metrics import BUCKETS
from swiftdeploy.demo.settings import Settings

CANARY = Settings(mode="canary", version="2.0.0")
STABLE = Settings(mode="stable", version="1.0.0")
FIXED_WALL = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Stands in for asyncio.sleep so slow chaos is observable without waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class AppClient:
    """A synchronous face on httpx.ASGITransport, on one event loop per client.

    (starlette.testclient warns about httpx under `filterwarnings = error`.)
    """

    def __init__(self, app: DemoApp) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://demo"
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


CLIENTS: list[AppClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def make(
    settings: Settings = CANARY, *, seed: int = 1
) -> tuple[AppClient, DemoApp, FakeClock, RecordingSleep]:
    clock = FakeClock()
    sleep = RecordingSleep()
    app = create_app(
        settings, rng=random.Random(seed), clock=clock, wall_clock=lambda: FIXED_WALL, sleep=sleep
    )
    client = AppClient(app)
    CLIENTS.append(client)
    return client, app, clock, sleep


@pytest.fixture
def canary() -> AppClient:
    client, *_ = make(CANARY)
    return client


@pytest.fixture
def stable() -> AppClient:
    client, *_ = make(STABLE)
    return client


def samples(client: AppClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# --- endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "mode"), [(CANARY, "canary"), (STABLE, "stable")])
def test_root(settings: Settings, mode: str) -> None:
    client, *_ = make(settings)
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers.get("x-mode") == (mode if mode == "canary" else None)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "message": f"Welcome to SwiftDeploy [{mode}]",
        "mode": mode,
        "version": settings.version,
        "timestamp": "2026-01-02T03:04:05.678Z",
    }


def test_timestamp_is_rfc3339_utc_with_z() -> None:
    client = AppClient(create_app(STABLE))
    CLIENTS.append(client)
    stamp = client.get("/").json()["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def test_healthz_reports_uptime_from_the_injected_clock() -> None:
    client, _, clock, _ = make(CANARY)
    clock.now += 12.5
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["x-mode"] == "canary"
    assert response.json() == {
        "status": "ok",
        "mode": "canary",
        "version": "2.0.0",
        "uptime_seconds": 12.5,
        "uptime": 12.5,
    }


def test_openapi_is_served(canary: AppClient) -> None:
    response = canary.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"].keys() >= {"/", "/healthz", "/metrics", "/chaos"}


@pytest.mark.parametrize("path", ["/nope", "/healthz/", "/metrics/x", "/a/b/c"])
def test_unknown_route_is_json_404(canary: AppClient, path: str) -> None:
    response = canary.get(path)
    assert response.status_code == 404
    assert response.headers["x-mode"] == "canary"
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/", "GET"),
        ("DELETE", "/healthz", "GET"),
        ("PUT", "/metrics", "GET"),
        ("DELETE", "/chaos", "GET, POST"),
        ("PATCH", "/openapi.json", "GET"),
    ],
)
def test_wrong_method_is_json_405(canary: AppClient, method: str, path: str, allow: str) -> None:
    response = canary.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["x-mode"] == "canary"
    assert response.json()["error"] == "method_not_allowed"


# --- chaos -----------------------------------------------------------------------------


def test_chaos_is_canary_only(stable: AppClient) -> None:
    response = stable.post("/chaos", json={"mode": "error", "rate": 1})
    assert response.status_code == 403
    assert "x-mode" not in response.headers  # stable mode adds no X-Mode
    assert response.json()["error"] == "forbidden"
    assert stable.get("/").status_code == 200
    assert stable.get("/chaos").json() == {"mode": "none", "active": False}


def test_chaos_error_rate_one_fails_app_routes_only(canary: AppClient) -> None:
    response = canary.post("/chaos", json={"mode": "error", "rate": 1})
    assert response.status_code == 200
    assert response.json() == {"mode": "error", "active": True, "rate": 1.0}
    failed = canary.get("/")
    assert failed.status_code == 500
    assert failed.headers["x-mode"] == "canary"
    assert failed.json()["error"] == "chaos_injected"
    for path in ("/healthz", "/metrics", "/chaos", "/openapi.json"):
        assert canary.get(path).status_code == 200, path
    assert canary.get("/nope").status_code == 404


def test_chaos_slow_sleeps_app_routes_only() -> None:
    client, _, _, sleep = make(CANARY)
    assert client.post("/chaos", json={"mode": "slow", "duration": 3}).status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/").status_code == 200
    assert sleep.calls == [3.0, 3.0]


def test_chaos_recover(canary: AppClient) -> None:
    canary.post("/chaos", json={"mode": "error", "rate": 1})
    response = canary.post("/chaos", json={"mode": "recover"})
    assert response.json() == {"mode": "none", "active": False}
    assert canary.get("/").status_code == 200


def test_chaos_ttl_ends_by_itself() -> None:
    client, _, clock, _ = make(CANARY)
    state = client.post("/chaos", json={"mode": "error", "rate": 1, "ttl": 30}).json()
    assert state["expires_in"] == 30
    clock.now += 29
    assert client.get("/").status_code == 500
    assert client.get("/chaos").json()["expires_in"] == 1
    clock.now += 1
    assert client.get("/").status_code == 200
    assert client.get("/chaos").json() == {"mode": "none", "active": False}


def test_seeded_error_rate_over_http() -> None:
    client, *_ = make(CANARY, seed=2026)
    client.post("/chaos", json={"mode": "error", "rate": 0.5})
    n = 2000
    failures = sum(client.get("/").status_code == 500 for _ in range(n))
    # 4 binomial standard deviations: sqrt(0.25 / 2000) * 4 = 4.47 %.
    assert abs(failures / n - 0.5) <= 0.0447


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"not json", "body"),
        (b"", "body"),
        (b"\xff\xfe", "body"),
        (b'{"mode": "slow", "duration": NaN}', "body"),
        (b"[1, 2]", "body"),
        (b'{"mode": "boom"}', "mode"),
        (b'{"mode": "slow", "duration": 61}', "duration"),
        (b'{"mode": "error", "rate": 2}', "rate"),
        (b'{"mode": "error", "rate": 0.1, "ttl": -1}', "ttl"),
    ],
)
def test_bad_chaos_bodies_are_json_400(canary: AppClient, content: bytes, field: str) -> None:
    response = canary.post("/chaos", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["x-mode"] == "canary"
    assert response.json()["error"] == "bad_request"
    assert response.json()["field"] == field
    assert canary.get("/chaos").json()["active"] is False


def test_oversized_chaos_body_is_json_413(canary: AppClient) -> None:
    body = json.dumps({"mode": "recover", "pad": "x" * MAX_BODY_BYTES}).encode()
    response = canary.post("/chaos", content=body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_oversized_chunked_body_is_json_413(canary: AppClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * 4096

    response = canary.post("/chaos", content=chunks())
    assert response.status_code == 413


def test_body_exactly_at_the_limit_is_accepted(canary: AppClient) -> None:
    body = b'{"mode": "recover"}'
    body += b" " * (MAX_BODY_BYTES - len(body))
    assert canary.post("/chaos", content=body).status_code == 200


# --- token -----------------------------------------------------------------------------

TOKENED = Settings(mode="canary", version="2.0.0", chaos_token="s3cret-token")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic s3cret-token"},
        {"authorization": "s3cret-token"},
        {"authorization": "Bearer s3cret-token-longer"},
    ],
)
def test_token_required_when_configured(headers: dict[str, str]) -> None:
    client, *_ = make(TOKENED)
    response = client.post("/chaos", json={"mode": "error", "rate": 1}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"
    assert client.get("/").status_code == 200


def test_correct_token_is_accepted() -> None:
    client, *_ = make(TOKENED)
    response = client.post(
        "/chaos",
        json={"mode": "error", "rate": 1},
        headers={"Authorization": "bearer s3cret-token"},
    )
    assert response.status_code == 200
    assert client.get("/").status_code == 500


def test_get_chaos_state_needs_no_token() -> None:
    client, *_ = make(TOKENED)
    assert client.get("/chaos").status_code == 200


# --- metrics ---------------------------------------------------------------------------


def test_metrics_count_requests_with_bounded_labels(canary: AppClient) -> None:
    canary.get("/")
    canary.get("/")
    canary.get("/random/1")
    canary.get("/random/2")
    canary.request("BREW", "/")
    canary.post("/chaos", json={"mode": "error", "rate": 1})
    canary.get("/")
    got = samples(canary)

    def count(method: str, path: str, status: str) -> float:
        labels = (("method", method), ("path", path), ("status_code", status))
        return got.get(("http_requests_total", labels), 0.0)

    assert count("GET", "/", "200") == 2
    assert count("GET", "/", "500") == 1
    assert count("GET", "other", "404") == 2
    assert count("OTHER", "/", "405") == 1
    assert count("POST", "/chaos", "200") == 1
    paths = {dict(labels)["path"] for name, labels in got if name == "http_requests_total"}
    assert paths <= {"/", "/healthz", "/metrics", "/chaos", "/openapi.json", "other"}


def test_metrics_histogram_buckets_and_gauges() -> None:
    client, _, clock, _ = make(CANARY)
    client.get("/")
    clock.now += 7
    client.post("/chaos", json={"mode": "slow", "duration": 1})
    got = samples(client)
    buckets = sorted(
        float(dict(labels)["le"])
        for name, labels in got
        if name == "http_request_duration_seconds_bucket"
        and dict(labels)["path"] == "/"
        and dict(labels)["method"] == "GET"
    )
    assert buckets == [*BUCKETS, float("inf")]
    assert 0.5 in buckets
    assert sum(b < 0.05 for b in buckets) >= 4
    assert got[("app_uptime_seconds", ())] == 7
    assert got[("app_mode", ())] == 1
    assert got[("chaos_active", ())] == 1
    assert got[("app_info", (("mode", "canary"), ("version", "2.0.0")))] == 1
    client.post("/chaos", json={"mode": "error", "rate": 0})
    assert samples(client)[("chaos_active", ())] == 2


def test_histogram_is_cumulative_with_exact_bounds() -> None:
    app = create_app(CANARY)
    assert app.metrics is not None
    for seconds in (0.0005, 0.001, 0.5, 0.6, 20.0):
        app.metrics.requests.observe("GET", "/", 200, seconds)
    text = app.metrics.render().decode()
    got = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("http_request_duration_seconds"):
                got[(sample.name, sample.labels.get("le"))] = sample.value
    bucket = "http_request_duration_seconds_bucket"
    assert got[(bucket, "0.001")] == 2  # 0.001 itself is inside le="0.001"
    assert got[(bucket, "0.25")] == 2
    assert got[(bucket, "0.5")] == 3
    assert got[(bucket, "1.0")] == 4
    assert got[(bucket, "10.0")] == 4
    assert got[(bucket, "+Inf")] == 5
    assert got[("http_request_duration_seconds_count", None)] == 5
    assert got[("http_request_duration_seconds_sum", None)] == pytest.approx(21.1015)


def test_metrics_content_type_and_stable_mode_gauge(stable: AppClient) -> None:
    response = stable.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "x-mode" not in response.headers  # stable mode adds no X-Mode
    assert samples(stable)[("app_mode", ())] == 0


def test_each_app_has_its_own_registry() -> None:
    first, *_ = make(CANARY)
    second, *_ = make(CANARY)
    first.get("/")
    labels = (("method", "GET"), ("path", "/"), ("status_code", "200"))
    assert samples(first)[("http_requests_total", labels)] == 1
    assert ("http_requests_total", labels) not in samples(second)


def test_metrics_disabled() -> None:
    client, app, *_ = make(Settings(mode="canary", metrics_enabled=False))
    assert app.metrics is None
    assert client.get("/").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"] == "metrics_disabled"


# --- robustness ------------------------------------------------------------------------


def test_a_real_bug_becomes_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    client, app, *_ = make(CANARY)

    def broken() -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(app._handlers, "/healthz", broken)
    response = client.get("/healthz")
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
    assert response.headers["x-mode"] == "canary"


def test_lifespan_startup_and_shutdown() -> None:
    app = create_app(CANARY)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


@pytest.mark.parametrize("path", ["/", "/chaos"])
def test_an_unread_body_is_drained_before_the_answer(path: str) -> None:
    """A 405 or 413 sent while nginx is still sending the body would end in a reset, and
    nginx would answer the client 502: the app reads the rest of the body first."""
    app = create_app(CANARY)
    chunks = [b"x" * 65_536] * 4
    events: list[str] = []

    async def receive() -> dict[str, Any]:
        if not chunks:
            raise AssertionError("receive() after the body ended would wait for a disconnect")
        chunk = chunks.pop(0)
        events.append("read")
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", b"262144"), (b"authorization", b"Bearer x")],
        "query_string": b"",
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert events[:4] == ["read"] * 4
    assert events[4] == "http.response.start"
