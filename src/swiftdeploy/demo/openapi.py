"""The demo service's OpenAPI document: served at /openapi.json, published as docs/openapi.json.

Kept as data in the package (not read from docs/) so an installed wheel or image serves it
too; tests/unit/test_demo_openapi.py keeps docs/openapi.json identical.
Regenerate the published copy with `python -m swiftdeploy.demo --openapi > docs/openapi.json`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

_MODE = {"type": "string", "enum": ["stable", "canary"]}
_NUMBER = {"type": "number"}
_X_MODE = {
    "X-Mode": {
        "description": "`canary` on every response of a canary instance; absent in stable mode.",
        "required": False,
        "schema": {"type": "string", "enum": ["canary"]},
    }
}


def _json_response(description: str, ref: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _X_MODE,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _error(description: str) -> dict[str, Any]:
    return _json_response(description, "Error")


def _chaos_request(mode: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["mode", *required],
        "properties": {"mode": {"type": "string", "enum": [mode]}, **properties},
    }


_TTL = {
    "type": "number",
    "minimum": 0,
    "exclusiveMinimum": True,
    "maximum": 86400,
    "description": "Seconds after which chaos ends by itself.",
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "SwiftDeploy demo service",
        "version": "1.0.0",
        "description": (
            "The instrumented service SwiftDeploy deploys. Every canary response carries "
            "`X-Mode: canary`; "
            "every error body is JSON."
        ),
    },
    "paths": {
        "/": {
            "get": {
                "operationId": "welcome",
                "summary": "Welcome message (affected by chaos)",
                "responses": {
                    "200": _json_response("Welcome", "Welcome"),
                    "500": _error("Injected failure while chaos mode is error"),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Liveness (never affected by chaos)",
                "responses": {"200": _json_response("Healthy", "Health")},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text exposition",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "headers": _X_MODE,
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "404": _error("Metrics disabled (METRICS_ENABLED=0)"),
                },
            }
        },
        "/chaos": {
            "get": {
                "operationId": "getChaos",
                "summary": "Current chaos state",
                "responses": {"200": _json_response("Chaos state", "ChaosState")},
            },
            "post": {
                "operationId": "setChaos",
                "summary": "Inject or clear chaos (canary only)",
                "security": [{"bearer": []}, {}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ChaosRequest"}
                        }
                    },
                },
                "responses": {
                    "200": _json_response("Chaos applied", "ChaosState"),
                    "400": _error("Invalid body; `field` names the offending key"),
                    "401": _error("CHAOS_TOKEN is set and the bearer token is missing or wrong"),
                    "403": _error("This instance runs in stable mode"),
                    "413": _error("Body larger than 16 KiB"),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI document",
                        "headers": _X_MODE,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Welcome": {
                "type": "object",
                "required": ["message", "mode", "version", "timestamp"],
                "properties": {
                    "message": {
                        "type": "string",
                        "pattern": r"^Welcome to SwiftDeploy \[(stable|canary)\]$",
                    },
                    "mode": _MODE,
                    "version": {"type": "string", "minLength": 1},
                    "timestamp": {
                        "type": "string",
                        "format": "date-time",
                        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$",
                    },
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "mode", "version", "uptime_seconds", "uptime"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok"]},
                    "mode": _MODE,
                    "version": {"type": "string", "minLength": 1},
                    "uptime_seconds": {"type": "number", "minimum": 0},
                    "uptime": {"type": "number", "minimum": 0},
                },
            },
            "ChaosState": {
                "type": "object",
                "required": ["mode", "active"],
                "properties": {
                    "mode": {"type": "string", "enum": ["none", "slow", "error"]},
                    "active": {"type": "boolean"},
                    "duration": _NUMBER,
                    "rate": _NUMBER,
                    "expires_in": {"type": "number", "minimum": 0},
                },
            },
            "ChaosRequest": {
                "oneOf": [
                    _chaos_request(
                        "slow",
                        {
                            "duration": {
                                "type": "number",
                                "minimum": 0,
                                "exclusiveMinimum": True,
                                "maximum": 60,
                                "description": "Seconds each affected request sleeps.",
                            },
                            "ttl": _TTL,
                        },
                        ["duration"],
                    ),
                    _chaos_request(
                        "error",
                        {
                            "rate": {
                                "type": "number",
                                "minimum": 0,
                                "maximum": 1,
                                "description": "Fraction of affected requests answering 500.",
                            },
                            "ttl": _TTL,
                        },
                        ["rate"],
                    ),
                    _chaos_request("recover", {}, []),
                ]
            },
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "allowed": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


@functools.cache
def spec_bytes() -> bytes:
    return (json.dumps(SPEC, indent=2) + "\n").encode()
