"""The OPA engine records the revision OPA evaluated, and refuses one that is not the files'."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.policy.opa import OpaServerEngine
from swiftdeploy.policy.sources import defaults_dir, policy_digest

ALLOW = {"allow": True, "deny": [], "checks": {}}


def _answering(revision: str | None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params.get("provenance") == "true"
        body: dict[str, object] = {"result": ALLOW}
        if revision is not None:
            body["provenance"] = {"bundles": {"b": {"revision": revision}}}
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handler)


def test_a_matching_revision_is_recorded() -> None:
    digest = policy_digest(defaults_dir())
    engine = OpaServerEngine("http://opa", defaults_dir(), transport=_answering(digest))
    assert engine.evaluate("infra", {}).policy_digest == digest


def test_an_opa_serving_another_policy_is_refused() -> None:
    engine = OpaServerEngine("http://opa", defaults_dir(), transport=_answering("sha256:old"))
    with pytest.raises(PolicyUnavailable, match="evaluated policy revision sha256:old"):
        engine.evaluate("infra", {})


def test_a_stale_bundle_is_reloaded_before_the_decision_counts(tmp_path: Path) -> None:
    served = ["sha256:old"]
    reloads: list[str] = []

    def reload() -> str:
        reloads.append("x")
        served[0] = policy_digest(defaults_dir())
        return served[0]

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"result": ALLOW, "provenance": {"bundles": {"b": {"revision": served[0]}}}}
        return httpx.Response(200, content=json.dumps(body).encode())

    engine = OpaServerEngine(
        "http://opa", defaults_dir(), transport=httpx.MockTransport(handler), reload=reload
    )
    assert engine.evaluate("infra", {}).policy_digest == policy_digest(defaults_dir())
    assert reloads == ["x"]


def test_an_opa_that_never_loads_the_files_is_refused_in_time() -> None:
    engine = OpaServerEngine(
        "http://opa",
        defaults_dir(),
        transport=_answering("sha256:stuck"),
        reload=lambda: "sha256:new",
        reload_timeout_s=0.2,
    )
    with pytest.raises(PolicyUnavailable, match="did not load the policies on disk"):
        engine.evaluate("infra", {})
