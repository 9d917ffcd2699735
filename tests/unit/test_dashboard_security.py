from __future__ import annotations

import pytest

from swiftdeploy.dashboard.security import CSP, bearer, host_allowed, token_matches


@pytest.mark.parametrize(
    ("host", "bind", "allowed"),
    [
        ("127.0.0.1:8090", "127.0.0.1", True),
        ("localhost:8090", "127.0.0.1", True),
        ("LOCALHOST:8090", "127.0.0.1", True),
        ("127.0.0.1:8091", "127.0.0.1", False),  # another port
        ("127.0.0.1", "127.0.0.1", False),  # no port at all
        ("evil.example:8090", "127.0.0.1", False),  # DNS rebinding
        ("127.0.0.2:8090", "127.0.0.1", False),
        ("[::1]:8090", "::1", True),
        ("::1:8090", "::1", False),  # an unbracketed IPv6 literal is ambiguous
        ("localhost:8090", "::1", True),
        ("192.168.1.5:8090", "192.168.1.5", True),
        ("localhost:8090", "192.168.1.5", False),  # not loopback: only the address itself
        ("10.1.2.3:8090", "0.0.0.0", True),  # a wildcard bind takes any IP literal
        ("evil.example:8090", "0.0.0.0", False),  # but never a foreign name
        ("", "127.0.0.1", False),
    ],
)
def test_host_header_check(host: str, bind: str, allowed: bool) -> None:
    assert host_allowed(host, bind, 8090) is allowed


def test_token_comparison() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches("", "s3cret")
    assert not token_matches(None, "s3cret")
    assert not token_matches("anything", "")  # read-only: no token can match


def test_bearer_reads_only_the_authorization_header() -> None:
    assert bearer([(b"authorization", b"Bearer abc ")]) == "abc"
    assert bearer([(b"authorization", b"bearer abc")]) == "abc"
    assert bearer([(b"authorization", b"Basic abc")]) is None
    assert bearer([(b"cookie", b"token=abc")]) is None


def test_the_csp_allows_no_inline_script_no_framing_and_no_other_origin() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP


def test_the_shipped_page_loads_nothing_from_another_origin() -> None:
    from importlib import resources

    assets = resources.files("swiftdeploy.dashboard").joinpath("assets")
    names = sorted(entry.name for entry in assets.iterdir())
    assert names == ["app.js", "favicon.svg", "index.html", "style.css"]
    for name in names:
        text = assets.joinpath(name).read_text()
        # The SVG namespace is an identifier, not a fetch.
        text = text.replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text, name
        assert "https://" not in text, name
        assert "@import" not in text, name
        assert "url(" not in text, name
    page = assets.joinpath("index.html").read_text()
    assert '<script src="/static/app.js" defer></script>' in page
    assert "<style" not in page  # no inline style or script: the CSP would refuse them
    assert page.count("<script") == 1
