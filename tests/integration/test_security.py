"""Security properties through the real lifecycle on the local runtime.

/chaos needs the generated token (401 without, 403 on stable); OPA is never reachable
through nginx; state and token files are 0600 in a 0700 folder; a tampered history is
caught by `audit --verify` from the CLI (History.verify itself: tests/unit/test_history.py).
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lifecycle_support import Project, free_port, make_project
from swiftdeploy.history import History

pytestmark = pytest.mark.integration


@pytest.fixture
def local(tmp_path: Path, port: int, nginx_bin: str, opa_bin: str) -> Iterator[Project]:
    opa_port = free_port()
    extra = f"policy:\n  engine: opa\n  opa_port: {opa_port}\n"
    project = make_project(tmp_path, port, nginx_bin, extra=extra, env={"SWIFTDEPLOY_OPA": opa_bin})
    project.opa_port = opa_port  # type: ignore[attr-defined]
    try:
        yield project
    finally:
        project.teardown_and_check()


def _instance_client(project: Project, track: str) -> httpx.Client:
    state = project.state()
    instances = state["instances"]
    assert isinstance(instances, dict)
    address = instances[str(state[track])]["address"]
    transport = httpx.HTTPTransport(uds=address.removeprefix("unix:"))
    return httpx.Client(transport=transport, base_url="http://instance", timeout=5)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_chaos_token_opa_isolation_and_file_modes(local: Project) -> None:
    local.ok("deploy")
    local.ok("promote", "canary")
    state_dir = local.root / ".swiftdeploy"
    token = (state_dir / "chaos.token").read_text().strip()
    assert len(token) >= 24
    body = {"mode": "error", "rate": 1.0}
    with _instance_client(local, "canary") as canary:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            refused = canary.post("/chaos", json=body, headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"] == "unauthorized"
        accepted = canary.post(
            "/chaos", json={"mode": "recover"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert accepted.status_code == 200
    with _instance_client(local, "stable") as stable:
        forbidden = stable.post("/chaos", json=body, headers={"Authorization": f"Bearer {token}"})
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]
    through_nginx = local.get("/chaos")  # GET is state, not a toggle; POST needs the token
    assert through_nginx.status_code < 500
    posted = httpx.post(f"http://127.0.0.1:{local.port}/chaos", json=body, timeout=10)
    assert posted.status_code in (401, 403, 404, 405)

    # OPA answers on its own loopback port, never through nginx.
    opa = f"http://127.0.0.1:{local.opa_port}"  # type: ignore[attr-defined]
    opa_token = (state_dir / "opa.token").read_text().strip()
    query = {"json": {"input": {}}, "timeout": 5}
    assert httpx.post(f"{opa}/v1/data/infra", **query).status_code == 401  # type: ignore[arg-type]
    bearer = {"Authorization": f"Bearer {opa_token}"}
    answer = httpx.post(f"{opa}/v1/data/infra", headers=bearer, **query)  # type: ignore[arg-type]
    assert answer.status_code == 200
    for method in ("GET", "POST"):
        answer = httpx.request(
            method, f"http://127.0.0.1:{local.port}/v1/data/infra", json={"input": {}}, timeout=10
        )
        assert answer.status_code in (404, 405), (method, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json")
        assert "result" not in answer.json()
        assert "error" in answer.json()
        assert "contact" not in answer.json()  # the app answered, not nginx's own error page

    assert _mode(state_dir) == 0o700
    assert _mode(state_dir / "state.json") == 0o600
    assert _mode(state_dir / "chaos.token") == 0o600
    assert _mode(state_dir / "opa.token") == 0o600
    assert _mode(state_dir / "logs") == 0o700


def _opa(project: Project) -> tuple[str, dict[str, str]]:
    token = (project.root / ".swiftdeploy" / "opa.token").read_text().strip()
    url = f"http://127.0.0.1:{project.opa_port}"  # type: ignore[attr-defined]
    return url, {"Authorization": f"Bearer {token}"}


def test_nobody_can_change_the_policy_engine_from_the_side(local: Project) -> None:
    local.ok("deploy")
    url, ours = _opa(local)
    before = httpx.get(f"{url}/v1/data/infra", headers=ours, timeout=5).json()["result"]
    attempts = 0
    for headers in ({}, {"Authorization": "Bearer wrong"}, ours):
        for method, path, body in (
            ("PUT", "/v1/data/infra/min_disk_gb", "0"),
            ("PATCH", "/v1/data", '[{"op": "add", "path": "/infra/min_disk_gb", "value": 0}]'),
            ("DELETE", "/v1/data/infra", ""),
            ("PUT", "/v1/policies/evil", "package infra\nallow := true\n"),
            ("DELETE", "/v1/policies/infra", ""),
            ("POST", "/v1/query", '{"query": "data.infra"}'),
        ):
            attempts += 1
            answer = httpx.request(method, url + path, content=body, headers=headers, timeout=5)
            assert answer.status_code in (401, 403), (method, path, headers, answer.status_code)
        if headers is not ours:
            for path in ("/v1/data/infra", "/v1/policies"):
                assert httpx.get(url + path, headers=headers, timeout=5).status_code == 401
    assert attempts == 18
    after = httpx.get(f"{url}/v1/data/infra", headers=ours, timeout=5).json()["result"]
    assert after == before
    data = local.root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "min_disk_gb": 10**9}))
    denied = local.run("deploy")
    assert denied.returncode == 1, denied.stdout + denied.stderr


def test_every_decision_is_made_by_the_policy_whose_digest_it_records(local: Project) -> None:
    from swiftdeploy.policy.sources import policy_digest

    local.ok("deploy")
    data = local.root / "policies" / "infra" / "data.json"
    original = data.read_text()
    for round_ in range(3):
        data.write_text(json.dumps({**json.loads(original), "min_disk_gb": 10**9}))
        denied = local.run("deploy")
        assert denied.returncode == 1, (round_, denied.stdout + denied.stderr)
        decision = [e for e in local.history() if e["type"] == "policy_decision"][-1]
        assert decision["allow"] is False
        assert decision["policy_digest"] == policy_digest(local.root / "policies")
        replay = local.run("audit", "--replay", str(decision["decision_id"]))
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "same decision" in replay.stdout

        data.write_text(original)
        local.ok("deploy")
        decision = [e for e in local.history() if e["type"] == "policy_decision"][-1]
        assert decision["allow"] is True
        assert decision["policy_digest"] == policy_digest(local.root / "policies")


def _history(tmp_path: Path) -> Path:
    (tmp_path / "manifest.yaml").write_text(
        json.dumps(
            {
                "services": {
                    "image": "a:1", "port": 3000, "mode": "stable", "version": "1.0.0",
                },
                "nginx": {"image": "nginx:latest", "port": 8080, "proxy_timeout": 30},
                "network": {"name": "n", "driver_type": "bridge"},
            }
        )
    )  # fmt: skip
    history = History(tmp_path / "history.jsonl")
    for index in range(6):
        history.append("deploy", {"n": index})
    return history.path


def _edit(lines: list[str]) -> list[str]:
    event = json.loads(lines[2])
    event["payload"] = {"n": 99}
    return [*lines[:2], json.dumps(event), *lines[3:]]


TAMPER = {
    "edit": _edit,
    "delete": lambda lines: lines[:2] + lines[3:],
    "reorder": lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
    "truncate": lambda lines: lines[:-2],
    "cut-last-line": lambda lines: [*lines[:-1], lines[-1][: len(lines[-1]) // 2]],
}


@pytest.mark.parametrize("how", sorted(TAMPER))
def test_tampered_history_fails_audit_verify_from_the_cli(tmp_path: Path, how: str) -> None:
    from lifecycle_support import Project

    path = _history(tmp_path)
    project = Project(tmp_path, 0, {**__import__("os").environ, "NO_COLOR": "1"})
    assert project.run("audit", "--verify").returncode == 0
    lines = path.read_text().splitlines()
    path.write_text("\n".join(TAMPER[how](lines)) + "\n")
    result = project.run("audit", "--verify")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "does not verify" in out or "history" in out.lower(), out
    assert "Traceback" not in out


def test_nginx_workers_run_unprivileged_and_still_reach_the_instances(project: Project) -> None:
    import os

    import psutil

    if os.geteuid() != 0:
        message = "the worker user is only switched when the CLI runs as root (CI does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    project.ok("deploy")
    project.ok("promote", "canary")
    nginx = project.state()["nginx"]
    assert isinstance(nginx, dict)
    workers = psutil.Process(int(nginx["pid"])).children()
    assert workers
    assert {worker.uids().effective for worker in workers} == {
        __import__("pwd").getpwnam("nobody").pw_uid
    }
    for headers in ({}, {"X-Canary": "always"}):
        assert project.get("/", **headers).status_code == 200
    big = httpx.post(f"http://127.0.0.1:{project.port}/", content=b"x" * 200_000, timeout=10)
    assert big.status_code < 500, big.status_code  # the body went through a temp file
    state_dir = project.root / ".swiftdeploy"
    assert _mode(state_dir / "state.json") == 0o600
    assert _mode(state_dir / "chaos.token") == 0o600


def test_a_rewritten_and_rechained_history_fails_against_the_head_kept_elsewhere(
    tmp_path: Path,
) -> None:
    from lifecycle_support import Project
    from swiftdeploy.history import GENESIS, RESERVED, make_event

    path = _history(tmp_path)
    project = Project(tmp_path, 0, {**__import__("os").environ, "NO_COLOR": "1"})
    head = project.run("audit", "--head").stdout.strip()
    assert project.run("audit", "--verify", "--head", head).returncode == 0

    # An attacker with write access edits one decision and recomputes every hash after it.
    events = [json.loads(line) for line in path.read_text().splitlines()]
    prev, out = GENESIS, []
    for index, event in enumerate(events):
        payload = {k: v for k, v in event.items() if k not in RESERVED}
        if index == 2:
            payload["n"] = 99
        made, line = make_event(index, prev, event["type"], payload, event["ts"])
        prev = made["hash"]
        out.append(line)
    path.write_bytes(b"".join(out))
    History(path).lock_path.write_text(f"{len(events) - 1} {prev}\n")

    assert project.run("audit", "--verify").returncode == 0  # the chain alone cannot tell
    result = project.run("audit", "--verify", "--head", head)
    out_text = result.stdout + result.stderr
    assert result.returncode == 1, out_text
    assert "rewritten since the head was kept" in out_text
    assert "Traceback" not in out_text


def test_an_oversized_body_gets_the_json_error_every_other_error_has(project: Project) -> None:
    project.ok("deploy")
    answer = httpx.post(f"http://127.0.0.1:{project.port}/", content=b"x" * (2 << 20), timeout=10)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["code"] == 413
    assert answer.json()["error"] == "Payload Too Large"
