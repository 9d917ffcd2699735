"""The published OpenAPI document matches the service, checked by schemathesis."""

from __future__ import annotations

import json
import random
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from swiftdeploy.demo.app import create_app
from swiftdeploy.demo.openapi import SPEC, spec_bytes
from swiftdeploy.demo.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_published_document_is_current() -> None:
    # Regenerate with: python -m swiftdeploy.demo --openapi > docs/openapi.json
    assert json.loads(DOCS.read_text()) == SPEC
    assert DOCS.read_bytes() == spec_bytes()


schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_canary_conforms(case: schemathesis.Case) -> None:
    # A fresh app per example: one example's chaos must not leak 500s into the next.
    app = create_app(Settings(mode="canary", version="2.0.0"), rng=random.Random(0))
    case.call_and_validate(app=app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_stable_with_token_conforms(case: schemathesis.Case) -> None:
    app = create_app(Settings(mode="stable", version="1.0.0", chaos_token="t"))
    case.call_and_validate(app=app)
