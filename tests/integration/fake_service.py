"""A stand-in service for the local runtime's `local.command`: serves HTTP on a Unix socket.

    python fake_service.py SOCKET

/healthz answers like the demo service (mode and version from MODE / APP_VERSION).
/metrics follows the word in the file $FAKE_CONTROL_DIR/$MODE (re-read on every scrape):
  ok       valid Prometheus text; 100 more successful requests per scrape
  garbage  a body that is not Prometheus text
  500      HTTP 500
  hang     no answer for 30 s
  reset    counters and uptime go down on every scrape (a restart mid-window)
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

SCRAPES = [0]


def metrics(count: float, uptime: float) -> str:
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{method="GET",path="/",status_code="200"}} {count}\n'
        "# TYPE http_request_duration_seconds histogram\n"
        f'http_request_duration_seconds_bucket{{method="GET",path="/",le="0.005"}} {count}\n'
        f'http_request_duration_seconds_bucket{{method="GET",path="/",le="+Inf"}} {count}\n'
        f'http_request_duration_seconds_count{{method="GET",path="/"}} {count}\n'
        f'http_request_duration_seconds_sum{{method="GET",path="/"}} {count * 0.001}\n'
        "# TYPE app_uptime_seconds gauge\n"
        f"app_uptime_seconds {uptime}\n"
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        mode = os.environ.get("MODE", "stable")
        if self.path == "/healthz":
            body = json.dumps({"status": "ok", "mode": mode, "version": os.environ["APP_VERSION"]})
            return self.answer(200, body, "application/json")
        if self.path != "/metrics":
            return self.answer(200, json.dumps({"mode": mode}), "application/json")
        control = Path(os.environ["FAKE_CONTROL_DIR"]) / mode
        word = control.read_text().strip() if control.exists() else "ok"
        SCRAPES[0] += 1
        scrapes = SCRAPES[0]
        if word == "garbage":
            return self.answer(200, "<html>definitely { not prometheus", "text/plain")
        if word == "500":
            return self.answer(500, "boom", "text/plain")
        if word == "hang":
            time.sleep(30)
            return self.answer(200, "", "text/plain")
        if word == "reset":
            count, uptime = max(100_000 - 1000 * scrapes, 0), max(1000 - scrapes, 0.5)
        else:
            count, uptime = 100 * scrapes, float(scrapes)
        return self.answer(200, metrics(count, uptime), "text/plain; version=0.0.4")

    def answer(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def drain_on_sigterm(server: Server) -> None:
    """SIGTERM stops accepting, then lets the requests in flight finish, as a real service
    does (the runtime moved traffic away before it sent the signal)."""
    import signal
    import threading

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    with Server(sys.argv[1], Handler) as server:
        drain_on_sigterm(server)
        server.serve_forever()
        time.sleep(0.5)  # the last answers leave before the process does
