"""The dashboard as an operator runs it: `swiftdeploy dashboard` as a real subprocess."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from lifecycle_support import Project, free_port


@dataclass
class Dashboard:
    port: int
    proc: subprocess.Popen[str]
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(self.url + path, headers=headers, timeout=10)

    def panel(self, name: str) -> dict[str, object]:
        response = self.get(f"/api/{name}")
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def control(
        self, action: str, body: object = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        chosen = self.token if token is None else token
        if chosen:
            headers["Authorization"] = f"Bearer {chosen}"
        content = b"" if body is None else httpx.Request("POST", "/", json=body).content
        return httpx.post(
            f"{self.url}/api/control/{action}", content=content, headers=headers, timeout=120
        )


@contextlib.contextmanager
def dashboard(project: Project, *args: str) -> Iterator[Dashboard]:
    """Start `swiftdeploy dashboard` on a free port; stop it (SIGTERM) after the block."""
    port = free_port()
    proc = subprocess.Popen(
        project.argv("dashboard", "--port", str(port), "--interval", "0.5", *args),
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"dashboard exited:\n{proc.communicate()[0]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/api/overview", timeout=2).is_success:
                    break
            assert time.monotonic() < deadline, "the dashboard did not answer in 30 s"
            time.sleep(0.1)
        token_file = project.root / ".swiftdeploy" / "dashboard.token"
        token = "" if "--read-only" in args else token_file.read_text().strip()
        yield Dashboard(port, proc, token)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
