"""The demo service under fuzzed /chaos bodies and oversized requests: 4xx JSON, never a 500.

In-process against the ASGI app (no server, no sockets); one app per test, reused across
the generated cases, because /chaos state never breaks /chaos itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swiftdeploy.demo.app import MAX_BODY_BYTES, DemoApp, create_app
from swiftdeploy.demo.settings import Settings

TOKEN = "s3cret-token"


class Client:
    def __init__(self, app: DemoApp) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://demo"
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, path, **kwargs))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


async def _no_sleep(seconds: float) -> None:
    pass


def _client(settings: Settings) -> Iterator[Client]:
    client = Client(create_app(settings, sleep=_no_sleep))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def canary() -> Iterator[Client]:
    yield from _client(Settings(mode="canary", version="2.0.0", chaos_token=TOKEN))


@pytest.fixture
def stable() -> Iterator[Client]:
    yield from _client(Settings(mode="stable", version="1.0.0"))


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(["slow", "error", "recover", "mode", "rate", "duration", "ttl"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["mode", "rate", "duration", "ttl", "x"]) | st.text(max_size=6),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=10,
)
chaos_like = st.fixed_dictionaries(
    {"mode": st.sampled_from(["slow", "error", "recover", "", "SLOW", None, 1])},
    optional={
        "rate": json_values | st.floats(),
        "duration": json_values | st.floats(),
        "ttl": json_values | st.floats(),
    },
)


def _body(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:  # NaN/Infinity as Python's json writes them, and oversize padding
        value = draw(chaos_like)
        text = json.dumps(value, allow_nan=True)
        if draw(st.booleans()):
            text += " " * draw(st.integers(MAX_BODY_BYTES - 50, MAX_BODY_BYTES * 4))
        return text.encode()
    if kind == 2:
        return json.dumps(draw(json_values)).encode()
    return json.dumps(draw(chaos_like), allow_nan=True).encode()


bodies = st.composite(_body)()
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "application/json; charset=latin-1",
    ]
)


def _assert_json_answer(response: httpx.Response, allowed: set[int]) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:200])
    assert response.status_code in allowed, (response.status_code, response.text[:200])
    payload = response.json()
    assert isinstance(payload, dict)
    if response.status_code >= 400:
        assert isinstance(payload.get("error"), str)


@given(body=bodies, content_type=content_types, with_token=st.booleans())
def test_any_chaos_body_is_answered_2xx_or_json_4xx(
    canary: Client, body: bytes, content_type: str, with_token: bool
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if with_token:
        headers["authorization"] = f"Bearer {TOKEN}"
    response = canary.request("POST", "/chaos", content=body, headers=headers)
    _assert_json_answer(response, {200, 400, 401, 413, 415})
    if not with_token:
        assert response.status_code in (401, 413)
    if len(body) > MAX_BODY_BYTES:
        assert response.status_code in (401, 413)


@given(body=bodies)
def test_chaos_on_stable_is_always_a_json_403(stable: Client, body: bytes) -> None:
    response = stable.request("POST", "/chaos", content=body)
    _assert_json_answer(response, {403, 413})


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=st.sampled_from(["/", "/healthz", "/metrics", "/chaos", "/openapi.json", "/x"])
    | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40).map(
        lambda text: "/" + text.replace("?", "").replace("#", "").lstrip("/")
    ),
    query=st.integers(0, 3) | st.just(20_000),
    header=st.integers(0, 3) | st.just(60_000),
)
def test_odd_and_oversized_requests_never_500(
    canary: Client, method: str, path: str, query: int, header: int
) -> None:
    url = path + ("?q=" + "a" * query if query else "")
    headers = {"x-pad": "b" * header} if header else {}
    response = canary.request(method, url, headers=headers)
    assert response.status_code < 500 or response.headers.get("content-type", "").startswith(
        "application/json"
    )
    if path != "/" and response.status_code >= 500:
        pytest.fail(f"{method} {url[:60]} answered {response.status_code}")


@pytest.mark.parametrize("depth", [33, 1_000, 8_000, MAX_BODY_BYTES // 2])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_chaos_body_is_a_json_400(canary: Client, depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    body = (opener * depth + "1" + closer * depth).encode()[:MAX_BODY_BYTES]
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    response = canary.request("POST", "/chaos", content=body, headers=headers)
    _assert_json_answer(response, {400})
    assert response.json()["field"] == "body"
    assert "nested" in response.json()["message"]


@given(
    depth=st.integers(1, 4_000),
    opener=st.sampled_from(["[", "{", '{"a":', '["x",']),
    junk=st.sampled_from(["", '"[[[["', "\\", '"\\"[{']),
)
def test_any_nesting_is_answered_without_a_500(
    canary: Client, depth: int, opener: str, junk: str
) -> None:
    body = (junk + opener * depth).encode()[:MAX_BODY_BYTES]
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    response = canary.request("POST", "/chaos", content=body, headers=headers)
    _assert_json_answer(response, {400})
