"""The resident collector: follow the log, checkpoint every second, answer on loopback.

    GET /metrics                          Prometheus text exposition
    GET /healthz                          {"status": "ok", "lag_s": …, "fresh_until": …}
    GET /v1/window?track=canary&seconds=30  the Figures of that window (JSON)

One thread follows the log and writes the journal; the HTTP server answers from the
same in-memory series under a lock, so a query never waits for disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from swiftdeploy.collector import journal
from swiftdeploy.collector.core import DEFAULT_EXCLUDED, Collector
from swiftdeploy.collector.exposition import Exposition, registry_for
from swiftdeploy.collector.journal import Journal
from swiftdeploy.collector.tail import LogTail
from swiftdeploy.files import atomic_write

JOURNAL = journal.FILENAME
PID_FILE = "collector.pid"
PORT_FILE = "collector.port"
IDLE_CHECKPOINT_S = 10.0


@dataclass(frozen=True)
class Settings:
    log: Path
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port, written to state_dir/collector.port
    # With port 0: the port to try first (the last run's), so an operator's Prometheus
    # scrape target survives a collector restart; any free port when it is taken.
    preferred_port: int = 0
    retention_s: int = 3600
    excluded_paths: tuple[str, ...] = DEFAULT_EXCLUDED
    checkpoint_s: float = 1.0
    poll_s: float = 0.05
    reclaim_bytes: int = 8 << 20  # punch the accounted-for log prefix once it is this big
    log_flush_s: float = 0.0  # nginx's access_log flush= (0: unbuffered, every line at once)


class CollectorProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.collector = Collector(
            retention_s=settings.retention_s, excluded_paths=settings.excluded_paths
        )
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(settings.state_dir / JOURNAL)
        offset, file_id = self.collector.restore(self.journal.loaded.records)
        self.tail = LogTail(settings.log, offset=offset, file_id=file_id)
        self.saved_offset, self.saved_at = -1, 0.0
        self.exposition = Exposition(self.collector, self.lock, lambda: self.journal.append_errors)
        self.registry = registry_for(self.exposition)
        self.httpd = _bind(settings, _handler(self))
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def step(self) -> bool:
        """Read what the log holds now; True when it was read to its end."""
        lines, at_end = self.tail.read()
        with self.lock:
            self.collector.ingest(lines)
            if self.tail.oversized:
                self.collector.unparseable += self.tail.oversized
                self.tail.oversized = 0
            if self.tail.continuity_lost:
                # The log was replaced while we were down: what it held after our offset is
                # gone. Coverage restarts now, so a gate never judges a window with a hole.
                self.collector.drop("continuity")
                self.collector.covered_from = time.time()
                self.tail.continuity_lost = False
            if at_end:
                # A buffered nginx log may still hold up to log_flush_s of lines.
                self.collector.caught_up(time.time() - self.settings.log_flush_s)
        return at_end

    def checkpoint(self, *, force: bool = False) -> None:
        with self.lock:
            offset, file_id = self.tail.offset, self.tail.file_id
            idle = not self.collector.series.dirty and offset == self.saved_offset
            if idle and not force and time.monotonic() - self.saved_at < IDLE_CHECKPOINT_S:
                return  # nothing new: only refresh `fresh_until` on disk now and then
            full = self.journal.needs_compaction()
            record = self.collector.checkpoint(offset, file_id, full=full)
        saved = self.journal.compact(record) if full else self.journal.append(record)
        if not saved:
            with self.lock:  # keep the rows pending: the next record carries them again
                for track, rows in record["rows"].items():
                    self.collector.series.dirty.update((track, int(s)) for s in rows)
            return
        self.saved_offset, self.saved_at = offset, time.monotonic()
        if offset - self.tail.reclaimed >= self.settings.reclaim_bytes:
            self.tail.reclaim(offset)

    def run(self) -> None:
        state = self.settings.state_dir
        atomic_write(state / PORT_FILE, f"{self.port}\n")
        atomic_write(state / PID_FILE, f"{os.getpid()}\n")
        server = threading.Thread(target=self.httpd.serve_forever, name="collector-http")
        server.daemon = True
        server.start()
        last = time.monotonic()
        try:
            while not self.stopping.is_set():
                at_end = self.step()
                if time.monotonic() - last >= self.settings.checkpoint_s:
                    self.checkpoint()
                    last = time.monotonic()
                if at_end:
                    self.stopping.wait(self.settings.poll_s)
        finally:
            self.step()
            self.checkpoint(force=True)
            self.httpd.shutdown()
            self.httpd.server_close()
            self.tail.close()
            with contextlib.suppress(FileNotFoundError, ValueError):
                # Only our own: a successor started beside us must stay findable.
                if int((state / PID_FILE).read_text().strip()) == os.getpid():
                    (state / PID_FILE).unlink()

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def _bind(settings: Settings, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    if settings.port == 0 and settings.preferred_port:
        with contextlib.suppress(OSError):
            return ThreadingHTTPServer((settings.host, settings.preferred_port), handler)
    return ThreadingHTTPServer((settings.host, settings.port), handler)


def _handler(owner: CollectorProcess) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "swiftdeploy-collector"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/metrics":
                self._send(200, generate_latest(owner.registry), CONTENT_TYPE_LATEST)
            elif url.path == "/healthz":
                with owner.lock:
                    fresh = owner.collector.fresh_until
                body = {"status": "ok", "fresh_until": fresh, "lag_s": time.time() - fresh}
                self._json(200, body)
            elif url.path == "/v1/window":
                self._window(parse_qs(url.query))
            else:
                self._json(404, {"error": f"no such path {url.path}"})

        def _window(self, query: dict[str, list[str]]) -> None:
            track = query.get("track", [""])[0]
            raw = query.get("seconds", [""])[0]
            if not raw.isdigit():
                self._json(400, {"error": f"seconds must be a whole number, got {raw!r}"})
                return
            try:
                with owner.lock:
                    figures = owner.collector.window(track, int(raw))
            except ValueError as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, figures.as_dict())

        def _json(self, status: int, body: object) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # the gate and Prometheus poll often; their requests are not news

    return Handler
