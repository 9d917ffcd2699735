"""A service SwiftDeploy did not write, for the local runtime: the standard library's HTTP
server on a Unix socket, with no /metrics at all.

    python plain_service.py SOCKET

`/healthz` answers like any health endpoint; every other path answers 200, except on the
canary track while the file $PLAIN_BREAK_FILE exists: then 500 (a broken release).
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        mode = os.environ.get("MODE", "stable")
        if self.path == "/healthz":
            body = {"status": "ok", "mode": mode, "version": os.environ.get("APP_VERSION")}
            self._reply(200, json.dumps(body).encode())
        elif self.path == "/metrics":
            self._reply(404, b"no metrics here\n")
        elif mode == "canary" and Path(os.environ["PLAIN_BREAK_FILE"]).exists():
            self._reply(500, b"broken\n")
        else:
            self._reply(200, f"hello from {mode}\n".encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port)


if __name__ == "__main__":
    with Server(sys.argv[1], Handler) as server:
        server.serve_forever()
