"""The history's chain head reaches the webhooks: every N events, and with each notification."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

from lifecycle_support import http_server, reply
from swiftdeploy.history import History
from swiftdeploy.notify import Notifier, send_anchor


class Receiver(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with type(self).lock:
            type(self).got.append(body)
        reply(self, 204, b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _receiver() -> type[Receiver]:
    return type("Handler", (Receiver,), {"got": []})


def test_the_head_is_posted_every_n_events(tmp_path: Path) -> None:
    handler = _receiver()
    with http_server(handler) as url:
        history = History(
            tmp_path / "history.jsonl",
            anchor_every=4,
            on_anchor=lambda head: send_anchor([url], head, name="app"),
        )
        events = [history.append("deploy", {"n": n}) for n in range(9)]
    heads = [body["history_head"] for body in handler.got]
    assert heads == [f"3:{events[3]['hash']}", f"7:{events[7]['hash']}"]
    assert {body["type"] for body in handler.got} == {"history_anchor"}
    assert history.verify(anchor=(7, events[7]["hash"])).ok


def test_a_receiver_that_is_down_is_reported_not_raised() -> None:
    assert send_anchor(["http://127.0.0.1:9/"], (0, "a" * 64), name="app") == [
        "http://127.0.0.1:9/"
    ]


def test_each_notification_carries_the_current_head(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    last = [history.append("deploy", {"n": n}) for n in range(3)][-1]
    handler = _receiver()
    with http_server(handler) as url:
        notifier = Notifier([url], name="app", record=history.append, head=history.chain_head)
        notifier.send("Progressing", "step 1")
        notifier.close()
    assert handler.got[0]["history_head"] == f"2:{last['hash']}"
