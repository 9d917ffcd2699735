"""What one health answer means, the same for every runtime (services.health).

A runtime fetches the answer its own way (a Unix socket, `docker exec`); this module alone
decides whether it passes and which mode and version the instance runs.
"""

from __future__ import annotations

import json

import httpx

from swiftdeploy._manifest_service import HealthSpec
from swiftdeploy.runtime.base import Health
from swiftdeploy.state import InstanceRecord

EXCERPT_CHARS = 80
MAX_BODY_BYTES = 65536  # a health body is small; more is never read


def judge(spec: HealthSpec, instance: InstanceRecord, status: int, body: bytes) -> Health:
    """A status in `spec.status` passes, whatever the body.

    A JSON object's `mode` / `version` (the demo's) say what the instance reports about
    itself, so the lifecycle can tell a wrong process from the right one; a service that
    reports nothing runs the mode and version SwiftDeploy started it with.
    """
    if not spec.accepts(status):
        return Health(False, f"{spec.path} answered {status}{excerpt(body)} (wanted {spec.status})")
    reported = _reported(body)
    mode, version = reported.get("mode"), reported.get("version")
    return Health(
        True,
        "ok",
        mode=mode if isinstance(mode, str) else instance.mode,
        version=version if isinstance(version, str) else instance.version,
    )


def excerpt(body: bytes) -> str:
    """`: <the body's start>` on one line, or nothing for an empty body."""
    text = " ".join(body[: EXCERPT_CHARS * 4].decode("utf-8", "replace").split())
    if not text:
        return ""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return f": {text[:EXCERPT_CHARS]}{'...' if len(text) > EXCERPT_CHARS else ''}"


def _reported(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body[:MAX_BODY_BYTES])
    except ValueError:  # not JSON (UnicodeDecodeError is one too): nothing reported
        return {}
    return data if isinstance(data, dict) else {}


def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """A streamed body's first `limit` bytes: a service that streams forever cannot hold a
    check (each read still obeys the client's timeout)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]
