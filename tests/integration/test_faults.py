"""The faults table, each outcome through the real CLI on the local runtime.

- policy engine down / slow past timeout / HTTP 500 / malformed JSON / no `allow`:
  deploy and promote refused, exit 3, the reason printed and recorded;
  with `--policy-unavailable=allow`: let through, a warning, a `policy_override` event.
- canary /metrics garbage, HTTP 500, hanging, counters reset mid-window, process gone:
  `promote stable` refused with the reason; stable keeps serving.
- the next nginx config is invalid: the command fails, the running nginx keeps its config
  and routing and serves; the next command reconciles.
- disk full while writing history: tests/unit/test_history.py (write failure, chain intact).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lifecycle_support import Project, http_server, make_project, reply, running, served_by

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
FAKE_SERVICE = HERE / "fake_service.py"
ALLOW = json.dumps({"result": {"allow": True, "deny": [], "checks": {}}}).encode()


class FakeOpa(http.server.BaseHTTPRequestHandler):
    mode = "ok"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body, status = {
            "slow": (ALLOW, 200),
            "500": (b'{"code": "internal_error"}', 500),
            "malformed": (b'{"result": {"allow": tr', 200),
            "no_allow": (b'{"result": {"deny": []}}', 200),
        }.get(type(self).mode, (ALLOW, 200))
        if type(self).mode == "slow":
            time.sleep(1.5)
        reply(self, status, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_opa() -> Iterator[tuple[str, type[FakeOpa]]]:
    handler = type("Handler", (FakeOpa,), {})
    with http_server(handler) as url:
        yield url, handler


OPA_SECTION = "policy:\n  engine: opa\n  timeout_s: 0.5\n"
FAULTS = [
    ("down", "cannot reach OPA"),
    ("slow", "did not answer within 0.5s"),
    ("500", "OPA answered HTTP 500"),
    ("malformed", "malformed JSON"),
    ("no_allow", "no boolean allow"),
]


@pytest.fixture
def opa_project(
    tmp_path: Path, port: int, nginx_bin: str, fake_opa: tuple[str, type[FakeOpa]]
) -> Iterator[tuple[Project, type[FakeOpa], str]]:
    url, handler = fake_opa
    project = make_project(
        tmp_path, port, nginx_bin, extra=OPA_SECTION, env={"SWIFTDEPLOY_OPA_URL": url}
    )
    try:
        yield project, handler, url
    finally:
        project.teardown_and_check()


def _point(project: Project, handler: type[FakeOpa], url: str, mode: str) -> None:
    handler.mode = mode
    # "down": nothing listens on that port (the fake keeps serving for the other modes).
    project.env["SWIFTDEPLOY_OPA_URL"] = "http://127.0.0.1:9" if mode == "down" else url


def _refused(project: Project, *args: str, why: str) -> None:
    result = project.run(*args)
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert why in out, out
    assert "Traceback" not in out
    assert "[BLOCKED]" in result.stdout
    last = [e for e in project.history() if e["type"].startswith("policy_")][-1]
    assert last["type"] == "policy_unavailable"
    assert why in str(last["reason"])


@pytest.mark.parametrize(("mode", "why"), FAULTS, ids=[f[0] for f in FAULTS])
def test_policy_engine_fault_refuses_deploy(
    opa_project: tuple[Project, type[FakeOpa], str], mode: str, why: str
) -> None:
    project, handler, url = opa_project
    _point(project, handler, url, mode)
    _refused(project, "deploy", why=why)
    assert project.state_pids() == set()
    assert project.stray_pids() == set()


def test_policy_engine_faults_refuse_promote_unless_overridden(
    opa_project: tuple[Project, type[FakeOpa], str],
) -> None:
    project, handler, url = opa_project
    project.ok("deploy")
    for mode, why in FAULTS:
        _point(project, handler, url, mode)
        _refused(project, "promote", "canary", why=why)
    assert project.state()["canary"] is None

    _point(project, handler, url, "500")
    out = project.ok("promote", "canary", "--policy-unavailable=allow")
    assert "[OVERRIDE]" in out
    assert project.state()["canary"] is not None
    override = [e for e in project.history() if e["type"] == "policy_override"]
    assert override
    assert override[-1]["on_unavailable"] == "allow"
    assert "HTTP 500" in str(override[-1]["reason"])

    for mode, why in FAULTS:
        _point(project, handler, url, mode)
        _refused(project, "promote", "stable", "--window", "0", why=why)
    assert served_by(project.get("/", **{"X-Canary": "always"})) == "canary"
    project.ok("audit", "--verify")


# --- the canary's /metrics ------------------------------------------------------------------


@pytest.fixture
def fake_service_project(
    tmp_path: Path, port: int, nginx_bin: str
) -> Iterator[tuple[Project, Path]]:
    control = tmp_path / "control"
    control.mkdir()
    command = json.dumps([sys.executable, str(FAKE_SERVICE), "{socket}"])
    project = make_project(
        tmp_path,
        port,
        nginx_bin,
        # The fake service's /metrics is what these tests break: judge by it (source app).
        extra=f"local:\n  command: {command}\nanalysis:\n  source: app\n",
        env={"FAKE_CONTROL_DIR": str(control)},
    )
    try:
        yield project, control
    finally:
        project.teardown_and_check()


METRIC_FAULTS = [
    ("garbage", "not Prometheus text"),
    ("500", "HTTP 500"),
    ("hang", "timed out scraping"),
    ("reset", "counter"),
]


def test_metrics_faults_refuse_promote_stable_with_the_reason(
    fake_service_project: tuple[Project, Path],
) -> None:
    project, control = fake_service_project
    project.ok("deploy")
    project.ok("promote", "canary")
    for word, why in METRIC_FAULTS:
        (control / "canary").write_text(word)
        result = project.run("promote", "stable", "--window", "1")
        out = result.stdout + result.stderr
        assert result.returncode != 0, f"{word}: {out}"
        assert why in out, f"{word}: {out}"
        assert "Traceback" not in out
        assert project.state()["canary"] is not None, word
    (control / "canary").write_text("ok")

    canary = project.state()["canary"]
    instances = project.state()["instances"]
    assert isinstance(instances, dict)
    os.kill(int(instances[canary]["pid"]), signal.SIGKILL)
    result = project.run("promote", "stable", "--window", "1")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "no canary is running" in out
    assert "Traceback" not in out
    assert project.get("/").status_code == 200  # stable still serves


# --- nginx ----------------------------------------------------------------------------------


def test_invalid_next_nginx_config_keeps_the_running_one(
    tmp_path: Path, port: int, nginx_bin: str
) -> None:
    # A wrapper nginx whose `-t` fails once a flag file exists: the next rendering is "invalid".
    flag = tmp_path / "reject"
    wrapper = tmp_path / "nginx-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do [ "$a" = "-t" ] && [ -e {flag} ] && '
        'echo "nginx: [emerg] invalid config (test)" >&2 && exit 1; done\n'
        f'exec {nginx_bin} "$@"\n'
    )
    wrapper.chmod(0o755)
    project = make_project(tmp_path, port, str(wrapper))
    try:
        project.ok("deploy")
        nginx = project.state()["nginx"]
        assert isinstance(nginx, dict)
        conf = Path(str(nginx["config"]))
        before = conf.read_text()
        flag.touch()
        manifest = project.manifest.read_text().replace("proxy_timeout: 30", "proxy_timeout: 31")
        project.manifest.write_text(manifest)
        result = project.run("promote", "canary")
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert "invalid config (test)" in out
        assert "Traceback" not in out
        assert conf.read_text() == before
        assert project.state()["nginx"] == nginx
        for _ in range(5):
            assert project.get("/").status_code == 200
        flag.unlink()
        project.ok("rollback")  # reconciles what the failed command left
        answer = project.get("/")
        assert answer.status_code == 200, (answer.status_code, answer.text)
        assert served_by(answer) == "stable"
    finally:
        project.teardown_and_check()


# --- a corrupt state file -------------------------------------------------------------------

CORRUPT_STATES = {
    "garbage": b"\x8f\x00garbage{{",
    "truncated": b'{"runtime": "local", "instances": {"stable-1',
    "empty": b"",
    "null": b"null",
    "list": b"[1, 2, 3]",
    "wrong_types": b'{"runtime": 7, "instances": "many", "canary_weight": "x"}',
}


@pytest.mark.parametrize("kind", list(CORRUPT_STATES))
def test_corrupt_state_is_one_line_and_teardown_still_stops_everything(
    project: Project, kind: str
) -> None:
    project.ok("deploy")
    started = project.stray_pids()
    assert started
    state_file = project.root / ".swiftdeploy" / "state.json"
    state_file.write_bytes(CORRUPT_STATES[kind])

    result = project.run("status", "--once")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "state.json is not a valid state" in out, out
    assert "state.json.prev" in out, out  # the last good state is kept beside it

    result = project.run("teardown")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Traceback" not in out
    assert not {pid for pid in started if running(pid)}, out
    assert project.stray_pids() == set()
    corrupt = list(state_file.parent.glob("state.json.corrupt*"))
    assert corrupt, "the unreadable state is kept for inspection"


def test_teardown_stops_what_a_minimal_state_does_not_name(project: Project) -> None:
    project.ok("deploy")
    started = project.stray_pids()
    (project.root / ".swiftdeploy" / "state.json").write_text('{"runtime":"local"}')
    project.ok("teardown")
    assert not {pid for pid in started if running(pid)}
    assert project.stray_pids() == set()


# --- a full disk ----------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "8m") -> Iterator[Path]:
    """A real, tiny filesystem (tmpfs) at folder: writes there end in ENOSPC once it is full."""
    if os.geteuid() != 0:
        message = "mounting a small tmpfs needs root (CI runs as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no byte left; returns it (unlink to free)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * chunk)
    return filler


def test_disk_full_refuses_with_one_line_and_loses_nothing(
    tmp_path: Path, port: int, nginx_bin: str
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        project = make_project(disk, port, nginx_bin)
        data = project.root / "policies" / "infra" / "data.json"
        data.write_text(json.dumps({**json.loads(data.read_text()), "min_disk_gb": 0}))
        try:
            project.ok("deploy")
            project.ok("promote", "canary")
            files = [
                project.root / ".swiftdeploy" / "state.json",
                project.root / "history.jsonl",
                project.manifest,
                project.root / "nginx.conf",
            ]
            before = [path.read_bytes() for path in files]
            filler = fill(disk)
            for args in (
                ("promote", "stable", "--window", "0"),
                ("rollback",),
                ("promote", "canary"),
                ("deploy",),
            ):
                result = project.run(*args)
                out = result.stdout + result.stderr
                assert result.returncode == 1, f"{args}: {out}"
                assert "Traceback" not in out, out
                assert "disk full:" in out, out
                assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # error + hint
                assert [path.read_bytes() for path in files] == before, args
            assert project.get("/", **{"X-Canary": "always"}).status_code == 200

            # teardown still stops everything on a full disk, and the history records it.
            project.ok("teardown")
            assert project.stray_pids() == set()
            assert project.history()[-1]["type"] == "teardown"
            filler.unlink()
            project.ok("audit", "--verify")
        finally:
            project.teardown_and_check()


# --- the nginx master killed ----------------------------------------------------------------


def _nginx_workers(project: Project) -> tuple[int, set[int]]:
    import psutil

    nginx = project.state()["nginx"]
    assert isinstance(nginx, dict)
    master = int(nginx["pid"])
    return master, {child.pid for child in psutil.Process(master).children()}


def test_killed_nginx_master_is_detected_its_workers_stopped_and_nginx_restarted(
    project: Project,
) -> None:
    project.ok("deploy")
    for command in ("deploy", "teardown"):
        master, workers = _nginx_workers(project)
        assert workers
        os.kill(master, signal.SIGKILL)
        time.sleep(0.2)
        assert all(running(pid) for pid in workers)  # orphaned, still holding the port

        status = project.run("status", "--once", "--json")
        assert "Traceback" not in status.stderr
        assert json.loads(status.stdout)["mode"] == "down", status.stdout
        assert status.returncode == 1

        project.ok(command)
        assert not {pid for pid in workers if running(pid)}, command
        if command == "deploy":
            assert project.get("/").status_code == 200
            assert project.state()["nginx"] is not None
    assert project.stray_pids() == set()
