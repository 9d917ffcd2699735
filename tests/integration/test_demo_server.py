"""The demo service as a real server process: Unix socket and TCP, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT_S = 20.0


class Instance:
    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        transport: httpx.HTTPTransport,
        uds: Path | None = None,
        tcp_port: int | None = None,
        base_url: str = "http://demo",
    ) -> None:
        self.proc = proc
        self.socket = uds or Path("/nonexistent")
        self.tcp_port = tcp_port
        self.client = httpx.Client(transport=transport, base_url=base_url, timeout=10.0)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
                pytest.fail(f"server exited early with {self.proc.returncode}: {stderr}")
            # Probe with a plain socket first: httpcore leaks the socket of a failed
            # Unix-socket connect, which ResourceWarning-as-error turns into a failure.
            if self._accepting() and self.client.get("/healthz").status_code == 200:
                return
            time.sleep(0.05)
        pytest.fail("server did not become ready")

    def _accepting(self) -> bool:
        try:
            if self.tcp_port is not None:
                probe = socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1)
            else:
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(str(self.socket))
                except OSError:
                    probe.close()
                    raise
        except OSError:
            return False
        probe.close()
        return True

    def stop(self) -> None:
        """Kill if still running and release every handle (ResourceWarnings are errors)."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()

    def metric(self, name: str) -> float:
        text = self.client.get("/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and not sample.labels:
                    return sample.value
        raise AssertionError(f"{name} not exposed")


def start(
    env_extra: dict[str, str],
    transport: httpx.HTTPTransport,
    server: str,
    uds: Path | None = None,
    tcp_port: int | None = None,
    base_url: str = "http://demo",
) -> Instance:
    env = {**os.environ, "MODE": "canary", "APP_VERSION": "9.9.9", **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "swiftdeploy.demo", "--server", server],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    instance = Instance(proc, transport, uds, tcp_port, base_url)
    try:
        instance.wait_ready()
    except BaseException:
        instance.stop()
        raise
    return instance


@pytest.fixture(params=["granian", "uvicorn"])
def uds_instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    sock = tmp_path / "run" / "canary.sock"
    instance = start(
        {"APP_SOCKET": str(sock)}, httpx.HTTPTransport(uds=str(sock)), request.param, sock
    )
    yield instance
    instance.stop()


def test_serves_on_a_unix_socket(uds_instance: Instance) -> None:
    response = uds_instance.client.get("/")
    assert response.status_code == 200
    assert response.headers["x-mode"] == "canary"
    assert response.json()["version"] == "9.9.9"
    assert uds_instance.socket.is_socket()
    assert uds_instance.metric("app_mode") == 1


def test_sigterm_finishes_in_flight_requests(uds_instance: Instance) -> None:
    client = uds_instance.client
    assert client.post("/chaos", json={"mode": "slow", "duration": 2}).status_code == 200
    results: list[int] = []

    def slow_request() -> None:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(uds_instance.socket)),
            base_url="http://demo",
            timeout=10.0,
        ) as other:
            results.append(other.get("/").status_code)

    worker = threading.Thread(target=slow_request)
    worker.start()
    # Wait until the slow request is really being served (the scrape itself is the other 1).
    deadline = time.monotonic() + 5
    while uds_instance.metric("http_requests_in_flight") < 2:
        assert time.monotonic() < deadline, "slow request never arrived"
        time.sleep(0.01)
    uds_instance.proc.send_signal(signal.SIGTERM)
    worker.join(timeout=15)
    assert not worker.is_alive()
    assert results == [200]
    assert uds_instance.proc.wait(timeout=15) == 0
    assert not uds_instance.socket.exists()


def test_serves_on_tcp(port: int) -> None:
    instance = start(
        {"APP_HOST": "127.0.0.1", "APP_PORT": str(port), "MODE": "stable"},
        httpx.HTTPTransport(),
        "granian",
        tcp_port=port,
        base_url=f"http://127.0.0.1:{port}",
    )
    try:
        response = instance.client.get("/healthz")
        assert response.status_code == 200
        assert "x-mode" not in response.headers  # stable mode adds no X-Mode
        assert instance.client.post("/chaos", json={"mode": "recover"}).status_code == 403
        instance.proc.send_signal(signal.SIGTERM)
        assert instance.proc.wait(timeout=15) == 0
    finally:
        instance.stop()


def test_bad_configuration_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "swiftdeploy.demo"],
        env={**os.environ, "MODE": "purple"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "MODE" in proc.stderr


def test_granian_worker_dies_with_a_killed_main_process(tmp_path: Path) -> None:
    sock = tmp_path / "killed.sock"
    instance = start({"APP_SOCKET": str(sock)}, httpx.HTTPTransport(uds=str(sock)), "granian", sock)
    try:
        workers = psutil.Process(instance.proc.pid).children()
        assert len(workers) == 1
        instance.proc.kill()
        instance.proc.wait(timeout=10)
        # The orphaned worker is told (SIGTERM via PR_SET_PDEATHSIG) and drains, then exits.
        _gone, alive = psutil.wait_procs(workers, timeout=15)
        for orphan in alive:  # never leave a stray server behind, even when failing
            orphan.kill()
        assert not alive
    finally:
        instance.stop()
