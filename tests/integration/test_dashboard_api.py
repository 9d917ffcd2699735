"""The dashboard's JSON API against a real local deployment (real nginx, real service).

`swiftdeploy dashboard` runs as a subprocess; every request goes over loopback TCP.
"""

from __future__ import annotations

import json
import os
import stat
import time

import httpx
import pytest

from dashboard_support import dashboard
from lifecycle_support import Load, Project, free_port

pytestmark = pytest.mark.integration

PANELS = ("overview", "tracks", "rollout", "decisions", "history", "host", "snapshot")
CSP = "default-src 'none'"


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def dashboard_actions(project: Project) -> list[dict[str, object]]:
    return [e for e in project.history() if e["type"] == "dashboard_action"]


def test_every_panel_answers_json_about_the_running_deployment(project: Project) -> None:
    project.ok("deploy")
    with dashboard(project) as dash, Load(project.port):
        overview = dash.panel("overview")
        assert overview["running"] is True
        assert overview["mode"] == "stable"
        assert overview["controls"] is True
        wait_for(lambda: dash.panel("tracks")["tracks"][0]["series"])  # type: ignore[index]
        (stable,) = dash.panel("tracks")["tracks"]  # type: ignore[misc]
        assert stable["track"] == "stable"
        assert stable["version"] == "1.0.0"
        assert stable["weight"] == 100
        assert stable["healthy"] is True
        assert {"req_per_s", "error_rate", "p99_ms"} <= set(stable["series"][-1])
        assert dash.panel("rollout") == {"active": False, "rollout": None}
        decisions = dash.panel("decisions")["decisions"]
        assert decisions[0]["domain"] == "infra"  # type: ignore[index]
        assert decisions[0]["input"]["disk_free_gb"] > 0  # type: ignore[index]
        assert "engine" not in decisions[0]  # type: ignore[operator]
        history = dash.panel("history")
        assert history["verify"]["ok"] is True  # type: ignore[index]
        assert [e["type"] for e in history["events"]][:2] == ["deploy", "policy_decision"]  # type: ignore[attr-defined]
        host = dash.panel("host")
        assert {c["rule"] for c in host["checks"]} >= {"disk_free", "cpu_load"}  # type: ignore[attr-defined]
        assert all(c["status"] == "PASS" for c in host["checks"])  # type: ignore[attr-defined]
        snapshot = dash.panel("snapshot")
        assert set(snapshot) == {"overview", "tracks", "rollout", "decisions", "history", "host"}
    # The dashboard's own samples are the cache `status` keeps, which `promote stable` judges.
    assert (project.root / ".swiftdeploy" / "scrapes.json").exists()


def test_a_stopped_deployment_shows_not_running(project: Project) -> None:
    with dashboard(project) as dash:
        assert dash.panel("overview")["running"] is False
        assert dash.panel("tracks")["tracks"] == []
        page = dash.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]


def test_host_header_must_name_the_bound_address(project: Project) -> None:
    with dashboard(project) as dash:
        assert dash.get("/api/overview", Host=f"localhost:{dash.port}").status_code == 200
        for host in (f"evil.example:{dash.port}", "127.0.0.1:1", f"10.0.0.1:{dash.port}"):
            refused = dash.get("/api/overview", Host=host)
            assert refused.status_code == 421, host
            assert "not this dashboard's address" in refused.json()["error"]
            assert CSP in refused.headers["content-security-policy"]


def test_every_response_has_a_strict_csp_and_bad_input_is_4xx_json(project: Project) -> None:
    with dashboard(project) as dash:
        for path in ("/", "/static/app.js", "/static/style.css", "/api/overview", "/nope"):
            response = dash.get(path)
            assert CSP in response.headers["content-security-policy"], path
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["x-frame-options"] == "DENY"
        cases = [
            (dash.get("/api/nope"), 404),
            (dash.get("/static/../manifest.yaml"), 404),
            (dash.get("/static/secret.txt"), 404),
            (dash.control("launch"), 404),
            (dash.control("set-weight", {"weight": "half"}), 400),
            (dash.control("set-weight", {"weight": 101}), 400),
            (dash.control("set-weight", {"weight": True}), 400),
            (dash.control("set-weight", [50]), 400),
            (dash.control("pause", {"weight": 5}), 400),
            (httpx.post(f"{dash.url}/api/control/pause", content=b"{nope", timeout=10,
                        headers={"Authorization": f"Bearer {dash.token}",
                                 "Content-Type": "application/json"}), 400),
            (httpx.post(f"{dash.url}/api/control/pause", content=b"x" * 5000, timeout=10,
                        headers={"Authorization": f"Bearer {dash.token}"}), 413),
            (httpx.post(f"{dash.url}/api/control/pause", content=b"weight=5", timeout=10,
                        headers={"Authorization": f"Bearer {dash.token}",
                                 "Content-Type": "application/x-www-form-urlencoded"}), 415),
            (dash.get("/api/control/pause"), 405),
        ]  # fmt: skip
        for response, status in cases:
            assert response.status_code == status, (response.request.url, response.text)
            assert "error" in response.json()
            assert CSP in response.headers["content-security-policy"]


def test_controls_need_the_token_and_are_recorded_via_dashboard(project: Project) -> None:
    project.ok("deploy")
    with dashboard(project) as dash:
        token_file = project.root / ".swiftdeploy" / "dashboard.token"
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        assert dash.control("rollback", token="").status_code == 401
        wrong = dash.control("rollback", token=dash.token[:-1] + "x")
        assert wrong.status_code == 403
        assert dashboard_actions(project) == []  # refused requests change nothing
        # A cookie alone never authorises a control.
        cookie = httpx.post(
            f"{dash.url}/api/control/rollback",
            headers={"Cookie": f"token={dash.token}"},
            timeout=10,
        )
        assert cookie.status_code == 401
        no_rollout = dash.control("pause")
        assert no_rollout.status_code == 409
        assert no_rollout.json()["error"] == "no rollout is in progress"
        done = dash.control("rollback")
        assert done.status_code == 200, done.text
        assert done.json()["summary"] == "no canary was running; all traffic is on stable"
    recorded = dashboard_actions(project)
    assert [(e["action"], e["ok"], e["via"]) for e in recorded] == [
        ("pause", False, "dashboard"),
        ("rollback", True, "dashboard"),
    ]
    assert project.ok("audit", "--verify")


def test_read_only_dashboards_serve_no_controls(project: Project) -> None:
    project.ok("deploy")
    with dashboard(project, "--read-only") as dash:
        assert dash.panel("overview")["controls"] is False
        refused = dash.control("rollback", token="anything")
        assert refused.status_code == 403
        assert "read-only" in refused.json()["error"]
    assert dashboard_actions(project) == []


def test_no_endpoint_reveals_a_token_or_the_policy_engine(project: Project) -> None:
    project.ok("deploy")
    project.ok("promote", "canary", "--version", "2.0.0")
    project.ok("chaos", "error", "--rate", "0.1")
    chaos_token = (project.root / ".swiftdeploy" / "chaos.token").read_text().strip()
    with dashboard(project) as dash:
        wait_for(lambda: len(dash.panel("tracks")["tracks"]) == 2)  # type: ignore[arg-type]
        bodies = [dash.get(f"/api/{name}").text for name in PANELS]
        bodies += [dash.get(p).text for p in ("/", "/static/app.js")]
        for body in bodies:
            assert chaos_token not in body
            assert dash.token not in body
            assert "embedded" not in body
            assert "policy_digest" not in body
        tracks = {t["track"]: t for t in dash.panel("tracks")["tracks"]}  # type: ignore[attr-defined]
        assert tracks["canary"]["chaos"] == "error"
        assert tracks["canary"]["weight"] == 100
        assert tracks["stable"]["weight"] == 0


def test_the_event_stream_sends_snapshots_and_ends_when_the_client_goes(
    project: Project,
) -> None:
    project.ok("deploy")
    with dashboard(project) as dash:
        with httpx.stream("GET", f"{dash.url}/api/events", timeout=10) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert CSP in stream.headers["content-security-policy"]
            events = []
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
                    # While this client reads, the server counts it as a viewer.
                    assert dash.panel("overview")["viewers"] == 1
                    if len(events) == 2:
                        break
            assert events[0]["overview"]["running"] is True
            assert events[1]["overview"]["sampled_at"] > events[0]["overview"]["sampled_at"]
        wait_for(lambda: dash.panel("overview")["viewers"] == 0, timeout=10)


def test_dashboard_enabled_in_the_manifest_runs_beside_the_deployment(project: Project) -> None:
    port = free_port()
    with project.manifest.open("a") as handle:
        handle.write(f"dashboard:\n  enabled: true\n  port: {port}\n")
    deployed = json.loads(project.ok("deploy", "--json"))
    assert deployed["dashboard"] == f"http://127.0.0.1:{port}/"
    pid_file = project.root / ".swiftdeploy" / "dashboard.pid"
    pid = int(pid_file.read_text())
    answer = httpx.get(f"http://127.0.0.1:{port}/api/overview", timeout=10)
    assert answer.json()["running"] is True
    again = json.loads(project.ok("deploy", "--json"))  # idempotent: the same dashboard
    assert int(pid_file.read_text()) == pid
    assert again["dashboard"] == deployed["dashboard"]
    stopped = json.loads(project.ok("teardown", "--json"))["stopped"]
    assert f"dashboard (pid {pid})" in stopped
    assert not pid_file.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/overview", timeout=5)
