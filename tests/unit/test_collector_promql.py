"""The PromQL source turns every bad answer into one PrometheusUnavailable line."""

from __future__ import annotations

import httpx
import pytest

from swiftdeploy.collector import promql


def client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def answering(status: int, body: object) -> httpx.Client:
    return client(httpx.MockTransport(lambda request: httpx.Response(status, json=body)))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"status": "error", "error": "parse error"}, "answered HTTP 400: parse error"),
        (200, {"status": "success", "data": {"result": 3}}, "malformed result"),
        (200, {"status": "success", "data": {"result": [{"value": [1]}]}}, "malformed sample"),
        (
            200,
            {"status": "success", "data": {"result": [{"metric": {}, "value": [1, "x"]}]}},
            "answered 'x', not a number",
        ),
        (200, ["not", "an", "object"], "answered HTTP 200"),
    ],
)
def test_bad_answers_are_one_clear_error(status: int, body: object, expected: str) -> None:
    with pytest.raises(promql.PrometheusUnavailable, match=expected) as info:
        promql.window("http://prom.invalid", "canary", 30, client=answering(status, body))
    assert "\n" not in str(info.value)


def test_an_unreachable_server_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(promql.PrometheusUnavailable, match="did not answer: connection refused"):
        promql.window(
            "http://127.0.0.1:9", "canary", 30, client=client(httpx.MockTransport(refuse))
        )


def test_no_traffic_reads_as_zero_requests_and_no_p99() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        value = {"collector_up": "999.5", "lag_seconds": "0.5"}
        found = [v for name, v in value.items() if query.startswith("max(") and name in query]
        result = [{"metric": {}, "value": [1000, found[0]]}] if found else []
        return httpx.Response(200, json={"status": "success", "data": {"result": result}})

    figures = promql.window(
        "http://prom.invalid", "canary", 30, at=1000.0, client=client(httpx.MockTransport(answer))
    )
    assert (figures.requests, figures.errors, figures.p99_ms) == (0, 0, None)
    assert figures.covered_s == 0
    assert figures.fresh_until == 999.0


def test_a_prometheus_that_never_scraped_the_collector_says_so() -> None:
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    with pytest.raises(promql.PrometheusUnavailable) as info:
        promql.window("http://prom.invalid", "canary", 30, at=1000.0, client=answering(200, empty))
    assert str(info.value) == (
        "Prometheus at http://prom.invalid has no sample of swiftdeploy_collector_up in the "
        "last 5 minutes: it does not scrape the collector (see .swiftdeploy/collector/"
        "collector.port)"
    )


@pytest.mark.parametrize(("track", "seconds"), [('canary"} or vector(1)', 30), ("canary", 0)])
def test_a_track_or_window_that_could_inject_is_refused(track: str, seconds: int) -> None:
    with pytest.raises(ValueError, match="bad window"):
        promql.window("http://prom.invalid", track, seconds)
