"""A real nginx in front of two counting upstreams on Unix sockets, and the collector.

The upstreams are the standard library's HTTP server; they send no X-Mode header (or any
hint of who they are): the collector has only nginx's own record to go by. Each counts
what it served, so a test can compare the collector's per-track counts with the truth.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lifecycle_support import free_port
from swiftdeploy.collector.nginx import directives


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@dataclass
class Upstream:
    """A stdlib HTTP server on a Unix socket that counts requests by path."""

    socket_path: Path
    status: int = 200
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _UnixHTTPServer | None = None

    def start(self) -> Upstream:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                with owner.lock:
                    owner.counts[self.path] = owner.counts.get(self.path, 0) + 1
                body = b"ok\n"
                if self.path.startswith("/slow"):
                    time.sleep(0.3)
                failing = owner.status if not self.path.startswith("/fail") else 500
                self.send_response(failing)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

            def address_string(self) -> str:
                return "unix"

        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.server = _UnixHTTPServer(str(self.socket_path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def served(self, *, excluding: tuple[str, ...] = ("/healthz", "/metrics")) -> int:
        with self.lock:
            return sum(n for path, n in self.counts.items() if path not in excluding)


def point(link: Path, target: Path) -> None:
    """Re-point a symlink atomically (what the local runtime does to switch)."""
    temp = link.with_name(f".{link.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    os.symlink(target, temp)
    os.replace(temp, link)


def nginx_conf(
    root: Path, port: int, *, log: Path, route_dir: Path, map_slots: int | None = None
) -> str:
    """The collector's directives in a minimal proxy; `map_slots` renders the reload-switched
    variant (a map of slots to tracks) instead of the marker files."""
    if map_slots is None:
        d = directives(str(log), route_dir=str(route_dir))
    else:
        d = directives(str(log), canary_slots=map_slots)
    return f"""\
{_worker_user()}worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{d.http}
    upstream app_stable {{ server unix:{root}/stable.sock max_fails=0; }}
    upstream app_canary {{ server unix:{root}/canary.sock max_fails=0; }}
    server {{
        listen 127.0.0.1:{port};
{d.server}
        error_page 502 @error_502;
        location / {{
{d.location}
        }}
        location @error_502 {{
            default_type application/json;
            return 502 '{{"error":"Bad Gateway"}}';
        }}
    }}
}}
"""


def _worker_user() -> str:
    """As root, nginx workers would drop to `nobody` and lose the private temp folder."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"


@dataclass
class Rig:
    root: Path
    port: int
    nginx_bin: str
    log: Path
    route_dir: Path
    state_dir: Path
    stable: Upstream
    canary: Upstream
    collector: subprocess.Popen[bytes] | None = None
    collector_port: int = 0
    map_slots: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def collector_url(self) -> str:
        return f"http://127.0.0.1:{self.collector_port}"

    def start_nginx(self) -> None:
        conf = self.root / "nginx.conf"
        conf.write_text(
            nginx_conf(
                self.root,
                self.port,
                log=self.log,
                route_dir=self.route_dir,
                map_slots=self.map_slots,
            )
        )
        argv = [self.nginx_bin, "-p", str(self.root), "-c", str(conf), "-e", str(self.root / "e")]
        subprocess.run([*argv, "-t", "-q"], check=True, capture_output=True, timeout=30)
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def stop_nginx(self) -> None:
        pid_file = self.root / "nginx.pid"
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            pid = int(pid_file.read_text())
            os.kill(pid, 15)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and pid_file.exists():
                time.sleep(0.05)

    def start_collector(self) -> None:
        port_file = self.state_dir / "collector.port"
        with contextlib.suppress(FileNotFoundError):
            port_file.unlink()
        argv = [sys.executable, "-m", "swiftdeploy.collector", "--log", str(self.log)]
        argv += ["--state-dir", str(self.state_dir)]
        with (self.root / "collector.err").open("ab") as errors:
            self.collector = subprocess.Popen(argv, stdout=errors, stderr=errors)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, ValueError):
                self.collector_port = int(port_file.read_text())
                return
            if self.collector.poll() is not None:
                raise RuntimeError(f"collector exited {self.collector.returncode}")
            time.sleep(0.05)
        raise RuntimeError("collector did not write its port")

    def stop_collector(self, signal_number: int = 15) -> None:
        if self.collector is not None and self.collector.poll() is None:
            self.collector.send_signal(signal_number)
            self.collector.wait(timeout=20)
        self.collector = None

    def metrics(self) -> str:
        return httpx.get(f"{self.collector_url}/metrics", timeout=5).text

    def wait_for_lines(self, expected: int, timeout: float = 30) -> None:
        """Until the collector has read `expected` log lines (nginx writes them at once)."""
        deadline = time.monotonic() + timeout
        seen = -1.0
        while time.monotonic() < deadline:
            for line in self.metrics().splitlines():
                if line.startswith("swiftdeploy_collector_lines_total "):
                    seen = float(line.split()[1])
            if seen >= expected:
                return
            time.sleep(0.1)
        raise AssertionError(f"the collector read {seen} lines, expected {expected}")


@contextlib.contextmanager
def rig(tmp: Path, nginx_bin: str, *, map_slots: int | None = None) -> Iterator[Rig]:
    root = tmp / "r"
    root.mkdir()
    stable = Upstream(root / "a.sock").start()
    canary = Upstream(root / "b.sock").start()
    point(root / "stable.sock", stable.socket_path)
    point(root / "canary.sock", canary.socket_path)
    the_rig = Rig(
        root=root,
        port=free_port(),
        nginx_bin=nginx_bin,
        log=root / "collector.log",
        route_dir=root / "route",
        state_dir=root / "state",
        stable=stable,
        canary=canary,
        map_slots=map_slots,
    )
    the_rig.route_dir.mkdir()
    try:
        the_rig.start_nginx()
        yield the_rig
    finally:
        the_rig.stop_collector()
        the_rig.stop_nginx()
        stable.stop()
        canary.stop()


@contextlib.contextmanager
def prometheus(tmp: Path, binary: str, target: str, *, port: int | None = None) -> Iterator[str]:
    """A real Prometheus server scraping `target` every second, for the block; yields its URL."""
    port = port or free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: collector\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}"]
    argv += [f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with (tmp / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        # Ready is not scraping: its scrape manager takes up new targets a few seconds later.
        while not _scraped(url):
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "Prometheus did not scrape within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _scraped(url: str) -> bool:
    """Prometheus answers and has scraped its target successfully at least once."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        answer = httpx.get(f"{url}/api/v1/query", params={"query": "up == 1"}, timeout=2)
        return answer.status_code == 200 and bool(answer.json()["data"]["result"])
    return False
