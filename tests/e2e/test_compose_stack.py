"""The compose runtime end to end, on a real Docker Engine with the locally built images.

Every request goes through nginx on 127.0.0.1:<nginx.port>, as an operator's would.
"""

from __future__ import annotations

import time

import httpx
import pytest
from e2e_support import Stack, assert_unreachable, docker

from lifecycle_support import Load, served_by
from swiftdeploy.collector.server import PORT_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


def test_seed_flow(stack: Stack) -> None:
    out = stack.ok("validate")
    assert "5 passed, 0 failed" in out, out

    out = stack.ok("deploy")
    assert "[PASS] Infrastructure policy" in out
    home = stack.get("/")
    assert home.status_code == 200
    assert served_by(home) == "stable"
    assert home.headers["X-Deployed-By"] == "swiftdeploy"
    assert home.json()["message"] == "Welcome to SwiftDeploy [stable]"
    assert stack.get("/healthz").json()["status"] == "ok"
    assert "http_requests_total" in stack.get("/metrics").text

    stack.ok("promote", "canary")
    assert served_by(stack.get("/")) == "canary"
    assert served_by(stack.get("/", **{"X-Canary": "never"})) == "stable"
    assert "mode: canary" in stack.manifest.read_text()

    stack.ok("chaos", "error", "--rate", "0.5")
    with Load(stack.port, threads=2) as load:
        time.sleep(4)  # the operator's own traffic: the gate judges the 3 s that just passed
        refused = stack.run("promote", "stable", "--window", "3")
    assert load.total >= 50
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "[DENY] Error rate" in refused.stdout
    assert "[BLOCKED] Promotion denied by canary safety policy" in refused.stdout
    # Judged from nginx's own record of each request, by the collector beside the stack.
    assert "as nginx served it" in refused.stdout, refused.stdout
    judged = [e for e in stack.history() if e["type"] == "policy_decision"][-1]["input"]
    assert judged["error_rate"] > 0.2, judged
    assert judged["stable"]["error_rate"] == 0, judged
    assert served_by(stack.get("/", **{"X-Canary": "always"})) == "canary"

    stack.ok("chaos", "recover")
    with Load(stack.port, threads=2) as load:
        # The gate judges the 3 s that just passed: let the errors age out of them first.
        time.sleep(4)
        stack.ok("promote", "stable", "--window", "3")
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert served_by(stack.get("/")) == "stable"
    assert "mode: stable" in stack.manifest.read_text()

    status = stack.ok("status", "--once")
    assert "stable" in status
    counted = httpx.get(collector_url(stack) + "/metrics", timeout=5).text
    assert 'swiftdeploy_requests_total{code="200",track="canary"}' in counted, counted
    assert 'swiftdeploy_requests_total{code="500",track="canary"}' in counted, counted
    stack.ok("audit")
    assert (stack.root / "audit_report.md").exists()

    stack.ok("teardown", "--clean")
    assert stack.leftovers() == {"containers": [], "networks": [], "volumes": []}
    assert not (stack.root / "docker-compose.yml").exists()
    types = [event["type"] for event in stack.history()]
    assert "teardown" in types
    assert types.count("policy_decision") >= 4


def collector_url(stack: Stack) -> str:
    port = (stack.root / ".swiftdeploy" / "collector" / PORT_FILE).read_text().strip()
    return f"http://127.0.0.1:{port}"


def test_regenerated_files_still_deploy(stack: Stack) -> None:
    (stack.root / "nginx.conf").unlink()
    (stack.root / "docker-compose.yml").unlink()
    stack.ok("init")
    stack.ok("deploy")
    response = stack.get("/")
    assert response.status_code == 200
    assert served_by(response) == "stable"
    assert "already running" in stack.ok("deploy")


def test_isolation_and_hardening(stack: Stack) -> None:
    text = stack.manifest.read_text().replace("policy:\n", "policy:\n  engine: opa\n")
    stack.manifest.write_text(text)
    stack.ok("init")
    stack.ok("deploy")
    stack.ok("promote", "canary")
    decisions = [e for e in stack.history() if e["type"] == "policy_decision"]
    assert decisions
    assert all(d["engine"] == "opa" for d in decisions), decisions[-1]

    app, canary = stack.container("app"), stack.container("app-canary")
    nginx, opa = stack.container("nginx"), stack.container("opa")
    # The app has no host port; OPA is published on loopback only; nginx on its port.
    for container in (app, canary):
        info = stack.inspect(container)
        assert not info["HostConfig"]["PortBindings"], info["HostConfig"]["PortBindings"]
        assert not any(info["NetworkSettings"]["Ports"].values())
    bindings = stack.inspect(opa)["HostConfig"]["PortBindings"]["8181/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
    assert json_ok(f"http://127.0.0.1:{stack.opa_port}/health")

    # OPA cannot be reached from the proxy or the service: separate networks.
    assert_unreachable(stack, nginx, app, "http://opa:8181/health")

    # nginx never forwards to OPA: its data API path is the app's own JSON 404.
    response = stack.get("/v1/data/infra")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    response.json()

    for container in (app, canary, nginx, opa):
        info = stack.inspect(container)
        user = info["Config"]["User"]
        assert user, container
        assert user.split(":")[0] not in ("0", "root"), (container, user)
        assert info["HostConfig"]["CapDrop"] == ["ALL"]
        assert "no-new-privileges:true" in info["HostConfig"]["SecurityOpt"]
        assert info["HostConfig"]["ReadonlyRootfs"] is True


def test_promote_and_rollback_under_load_drop_nothing(stack: Stack) -> None:
    stack.ok("deploy")
    with Load(stack.port, threads=2) as load:
        for _ in range(2):
            stack.ok("promote", "canary")
            time.sleep(0.3)
            stack.ok("rollback")
            time.sleep(0.3)
        stack.ok("promote", "canary")
        stack.ok("promote", "stable", "--window", "3")
    assert load.total > 200
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert served_by(stack.get("/")) == "stable"
    state = stack.state()
    assert state["canary"] is None
    assert len(state["instances"]) == 1


def json_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=5).status_code == 200


def test_a_killed_app_container_fails_fast_and_is_served_again(stack: Stack) -> None:
    assert stack.root.stat().st_mode & 0o777 == 0o700
    stack.ok("deploy")
    assert stack.get("/").status_code == 200
    app = docker(
        stack.env,
        "ps",
        "-q",
        "--filter",
        f"label=com.docker.compose.project={stack.name}",
        "--filter",
        "label=com.docker.compose.service=app",
    ).split()
    assert len(app) == 1, app
    docker(stack.env, "kill", app[0])
    # nginx must not dial the dead address for the whole proxy_timeout (30 s): a short
    # connect timeout answers at once with a JSON error (the client gives up after 10 s).
    answer = httpx.get(f"http://127.0.0.1:{stack.port}/", timeout=10)
    assert answer.status_code in (502, 503, 504), answer.status_code
    assert answer.json()["code"] == answer.status_code
    # A killed container is not restarted by Docker (`docker kill` counts as a manual
    # stop); the next deploy replaces it, and nginx dials the new container's address.
    assert "is healthy" in stack.ok("deploy")
    with Load(stack.port, threads=2) as load:
        time.sleep(1)
    assert load.total > 0
    assert load.failures == 0, (load.statuses, load.errors[:3])
