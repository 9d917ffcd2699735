"""Webhook notifications on rollout phase changes, delivered off the rollout's path.

A slow or broken receiver must never block or break a rollout: events go through a
queue to one background thread, each POST is retried a few times with a short
timeout, and a delivery that still fails is written to the history, not raised.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from swiftdeploy.clock import iso_utc

Record = Callable[[str, dict[str, Any]], object]
Head = Callable[[], "tuple[int, str] | None"]

ATTEMPTS = 3
TIMEOUT_S = 2.0
BACKOFF_S = 0.5


class Notifier:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        name: str,
        record: Record,
        transport: httpx.BaseTransport | None = None,
        head: Head | None = None,
    ) -> None:
        self.urls = list(urls)
        self.head = head  # the history's chain head, sent along as an outside anchor
        self.name = name
        self.record = record
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._transport = transport
        self._thread: threading.Thread | None = None
        if self.urls:
            self._thread = threading.Thread(target=self._deliver_all, daemon=True)
            self._thread.start()

    def send(self, phase: str, message: str, *, kind: str = "normal") -> None:
        if self._thread is None:
            return
        event = {
            "name": self.name,
            "phase": phase,
            "message": message,
            "type": kind,
            "timestamp": iso_utc(),
        }
        if self.head is not None:
            try:
                current = self.head()
            except Exception:
                current = None
            if current is not None:
                event["history_head"] = f"{current[0]}:{current[1]}"
        self._queue.put(event)

    def close(self, timeout: float = 10.0) -> None:
        """Let queued events go out, for at most `timeout` seconds."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)

    def _deliver_all(self) -> None:
        with httpx.Client(timeout=TIMEOUT_S, transport=self._transport) as client:
            while (event := self._queue.get()) is not None:
                for url in self.urls:
                    self._deliver(client, url, event)

    def _deliver(self, client: httpx.Client, url: str, event: dict[str, Any]) -> None:
        error = ""
        for attempt in range(ATTEMPTS):
            try:
                response = client.post(url, json=event)
                if response.status_code < 300:
                    return
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            time.sleep(BACKOFF_S * (attempt + 1))
        self.record(
            "notify_failed",
            {"url": url, "phase": event["phase"], "error": error, "attempts": ATTEMPTS},
        )


def send_anchor(
    urls: Sequence[str],
    head: tuple[int, str],
    *,
    name: str,
    transport: httpx.BaseTransport | None = None,
) -> list[str]:
    """POST the history's chain head to every webhook, once, briefly; returns the failures.

    The receivers keep the head outside this host: `audit --verify --head SEQ:HASH`
    later proves the history was not rewritten since. Best effort: never raises.
    """
    event = {
        "name": name,
        "type": "history_anchor",
        "history_head": f"{head[0]}:{head[1]}",
        "timestamp": iso_utc(),
    }
    failed: list[str] = []
    with httpx.Client(timeout=TIMEOUT_S, transport=transport) as client:
        for url in urls:
            try:
                if client.post(url, json=event).status_code >= 300:
                    failed.append(url)
            except httpx.HTTPError:
                failed.append(url)
    return failed
