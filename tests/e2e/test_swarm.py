"""The swarm runtime end to end: a single-node swarm on the tests' Docker Engine.

The engine is put in swarm mode for these tests only if it was not in it already, and
it leaves the swarm once the last test process using it is done (pytest -n 2 runs one
session per worker: a lock file counts the workers that use the swarm). The Compose e2e
tests run on the same engine meanwhile: Compose works the same on a swarm-mode engine.

Every request goes through nginx on 127.0.0.1:<nginx.port>, as an operator's would.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e_support import (
    MANIFEST,
    NEW,
    NEW_WELCOME,
    Releases,
    Stack,
    assert_unreachable,
    docker,
    pinned,
    welcome,
)

from lifecycle_support import Load, free_port, served_by

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


def _users_file(env: dict[str, str]) -> Path:
    """One record per engine, in the real /tmp: concurrent runs (other TMPDIRs) that share
    an engine must agree on who uses its swarm, or one would leave it under the other."""
    engine = env.get("DOCKER_HOST") or "default"
    digest = hashlib.sha256(engine.encode()).hexdigest()[:12]
    return Path("/tmp") / f"swiftdeploy-e2e-swarm-{digest}.json"


@contextlib.contextmanager
def _users(env: dict[str, str]) -> Iterator[dict[str, object]]:
    """The shared record of which test processes use the swarm, under an exclusive lock."""
    users_file = _users_file(env)
    with open(users_file.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data: dict[str, object] = {"pids": [], "initialised": False}
            if users_file.exists():
                data = json.loads(users_file.read_text() or "{}") or data
            pids = data.get("pids")
            alive = [pid for pid in pids if _alive(pid)] if isinstance(pids, list) else []
            data["pids"] = alive
            yield data
            users_file.write_text(json.dumps(data))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def swarm(docker_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A single-node swarm on the tests' engine; left again if these tests started it."""
    with _users(docker_env) as data:
        state = docker(docker_env, "info", "--format", "{{.Swarm.LocalNodeState}}").strip()
        if state != "active":
            docker(docker_env, "swarm", "init", "--advertise-addr", "127.0.0.1")
            data["initialised"] = True
        pids = data["pids"]
        assert isinstance(pids, list)
        pids.append(os.getpid())
    try:
        yield docker_env
    finally:
        with _users(docker_env) as data:
            pids = data["pids"]
            assert isinstance(pids, list)
            if os.getpid() in pids:
                pids.remove(os.getpid())
            if not pids and data.get("initialised"):
                docker(docker_env, "swarm", "leave", "--force", check=False)
                # `swarm init` created it and `swarm leave` keeps it: nothing is left behind.
                docker(docker_env, "network", "rm", "docker_gwbridge", check=False)
                data["initialised"] = False


@pytest.fixture
def swarm_stack(tmp_path: Path, swarm: dict[str, str]) -> Iterator[Stack]:
    name = f"sdsw{os.getpid()}{tmp_path.name[-6:]}".lower()
    name = "".join(ch for ch in name if ch.isalnum())
    port, opa_port = free_port(), free_port()
    root = tmp_path / "svc"
    root.mkdir()
    manifest = MANIFEST.format(port=port, network=f"{name}-net", opa_port=opa_port)
    manifest = manifest.replace("runtime: compose", "runtime: swarm").replace(
        "driver_type: bridge", "driver_type: overlay"
    )
    (root / "manifest.yaml").write_text(manifest)
    env = dict(swarm, NO_COLOR="1", COLUMNS="120", SWIFTDEPLOY_STACK_NAME=name)
    proj = Stack(root, port, opa_port, name, env)
    proj.ok("init")
    data = root / "policies" / "infra" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "max_cpu_load": 1000}))
    try:
        yield proj
    finally:
        proj.run("teardown")
        docker(env, "stack", "rm", name, check=False)
        label = ["--filter", f"label=com.docker.stack.namespace={name}"]
        for kind in ("container", "network", "secret"):
            listing = ["ls", "-a", "-q"] if kind == "container" else ["ls", "-q"]
            ids = docker(env, kind, *listing, *label).split()
            if ids:
                docker(env, kind, "rm", "-f", *ids, check=False)


def leftovers(stack: Stack) -> dict[str, list[str]]:
    label = ["--filter", f"label=com.docker.stack.namespace={stack.name}"]
    return {
        "services": docker(stack.env, "service", "ls", "-q", *label).split(),
        "containers": docker(stack.env, "ps", "-a", "-q", *label).split(),
        "networks": docker(stack.env, "network", "ls", "-q", *label).split(),
        "secrets": docker(stack.env, "secret", "ls", "-q", *label).split(),
    }


def task_container(stack: Stack, service: str) -> str:
    ids = docker(
        stack.env,
        "ps",
        "-q",
        "--filter",
        f"label=com.docker.swarm.service.name={stack.name}_{service}",
    ).split()
    assert len(ids) == 1, f"{service}: {ids}"
    return ids[0]


def test_swarm_seed_flow_with_opa_isolated(swarm_stack: Stack) -> None:
    stack = swarm_stack
    text = stack.manifest.read_text().replace("policy:\n", "policy:\n  engine: opa\n")
    stack.manifest.write_text(text)
    stack.ok("init")
    assert (stack.root / "docker-stack.yml").read_text().startswith("# generated from")
    out = stack.ok("validate")
    assert "5 passed, 0 failed" in out, out

    started = time.monotonic()
    out = stack.ok("deploy")
    deploy_s = time.monotonic() - started
    assert "[PASS] Infrastructure policy" in out
    home = stack.get("/")
    assert home.status_code == 200
    assert served_by(home) == "stable"
    assert home.headers["X-Deployed-By"] == "swiftdeploy"
    assert stack.get("/healthz").json()["status"] == "ok"

    stack.ok("promote", "canary")
    assert served_by(stack.get("/")) == "canary"
    assert served_by(stack.get("/", **{"X-Canary": "never"})) == "stable"
    assert "mode: canary" in stack.manifest.read_text()
    decisions = [e for e in stack.history() if e["type"] == "policy_decision"]
    assert decisions
    assert all(d["engine"] == "opa" for d in decisions), decisions[-1]

    check_isolation_and_hardening(stack)

    # The chaos token reaches the canary as a Docker secret (a file), and only there.
    stack.ok("chaos", "error", "--rate", "0.5")
    with Load(stack.port, threads=2) as load:
        time.sleep(4)  # the operator's own traffic: the gate judges the 3 s that just passed
        refused = stack.run("promote", "stable", "--window", "3")
    assert load.total >= 50
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "[DENY] Error rate" in refused.stdout
    assert "as nginx served it" in refused.stdout  # the collector, beside the stack
    assert "[BLOCKED] Promotion denied by canary safety policy" in refused.stdout
    assert served_by(stack.get("/", **{"X-Canary": "always"})) == "canary"

    stack.ok("chaos", "recover")
    with Load(stack.port, threads=2) as load:
        time.sleep(4)  # the gate judges the 3 s that just passed: the errors age out first
        started = time.monotonic()
        stack.ok("promote", "stable", "--window", "3")
        promote_s = time.monotonic() - started
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert served_by(stack.get("/")) == "stable"
    assert "mode: stable" in stack.manifest.read_text()
    replicas = docker(
        stack.env, "service", "inspect", f"{stack.name}_app-canary", "--format", "{{json .Spec}}"
    )
    assert json.loads(replicas)["Mode"]["Replicated"]["Replicas"] == 0

    assert "stable" in stack.ok("status", "--once")
    stack.ok("audit")
    log = stack.root / ".swiftdeploy" / "logs" / "stack-deploy.log"
    assert "unsupported" not in (log.read_text() if log.exists() else "").lower()

    started = time.monotonic()
    stack.ok("teardown", "--clean")
    teardown_s = time.monotonic() - started
    assert leftovers(stack) == {"services": [], "containers": [], "networks": [], "secrets": []}
    assert not (stack.root / "docker-stack.yml").exists()
    types = [event["type"] for event in stack.history()]
    assert "teardown" in types
    assert types.count("policy_decision") >= 4
    print(
        f"swarm timings: deploy {deploy_s:.1f}s, promote stable {promote_s:.1f}s "
        f"(3s window), teardown {teardown_s:.1f}s"
    )


def check_isolation_and_hardening(stack: Stack) -> None:
    app, canary = task_container(stack, "app"), task_container(stack, "app-canary")
    nginx, opa = task_container(stack, "nginx"), task_container(stack, "opa")
    # The app publishes nothing; nginx publishes its port (host mode); OPA publishes
    # nothing and listens on the host's loopback only (host network, 127.0.0.1).
    for container in (app, canary, opa):
        info = stack.inspect(container)
        assert not info["HostConfig"]["PortBindings"], info["HostConfig"]["PortBindings"]
    assert stack.inspect(opa)["HostConfig"]["NetworkMode"] == "host"
    assert f"127.0.0.1:{stack.opa_port}" in stack.inspect(opa)["Args"]
    assert httpx.get(f"http://127.0.0.1:{stack.opa_port}/health", timeout=5).status_code == 200
    assert list(stack.inspect(nginx)["HostConfig"]["PortBindings"]) == [f"{stack.port}/tcp"]

    # OPA cannot be reached from the proxy or the service: not by a name on their
    # network, not through the host's address on their gateway (it listens on loopback).
    gateway = docker(
        stack.env,
        "network",
        "inspect",
        "docker_gwbridge",
        "--format",
        "{{(index .IPAM.Config 0).Gateway}}",
    ).strip()
    assert gateway
    for url in ("http://opa:8181/health", f"http://{gateway}:{stack.opa_port}/health"):
        assert_unreachable(stack, nginx, app, url)

    # nginx never forwards to OPA: its data API path is the app's own JSON 404.
    response = stack.get("/v1/data/infra")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")

    # The token is a secret file in the canary only (no CHAOS_TOKEN in any environment).
    token = (stack.root / ".swiftdeploy" / "chaos.token").read_text().strip()
    secret = docker(stack.env, "exec", canary, "cat", "/run/secrets/chaos_token").strip()
    assert secret == token
    for container in (app, canary):
        env = stack.inspect(container)["Config"]["Env"]
        assert not any(item.startswith("CHAOS_TOKEN=") for item in env), env
    assert docker(stack.env, "exec", app, "ls", "/run/secrets", check=False).strip() == ""

    # Swarm supports user, cap_drop and read_only; it ignores security_opt (so the
    # stack file has none: no-new-privileges is not set under swarm).
    for container in (app, canary, nginx, opa):
        info = stack.inspect(container)
        user = info["Config"]["User"]
        assert user, container
        assert user.split(":")[0] not in ("0", "root"), (container, user)
        assert info["HostConfig"]["CapDrop"] == ["ALL"]
        assert info["HostConfig"]["ReadonlyRootfs"] is True


def test_swarm_promote_and_rollback_under_load_drop_nothing(swarm_stack: Stack) -> None:
    stack = swarm_stack
    stack.ok("deploy")
    with Load(stack.port, threads=2) as load:
        for _ in range(2):
            stack.ok("promote", "canary")
            time.sleep(0.3)
            stack.ok("rollback")
            time.sleep(0.3)
        # A new version: the canary service, then the stable service, rolling-updated.
        stack.ok("promote", "canary", "--version", "2.0.0")
        assert stack.get("/", **{"X-Canary": "always"}).json()["version"] == "2.0.0"
        stack.ok("promote", "stable", "--window", "3")
    assert load.total > 200
    assert load.failures == 0, (load.statuses, load.errors[:3])
    home = stack.get("/")
    assert served_by(home) == "stable"
    assert home.json()["version"] == "2.0.0"
    state = stack.state()
    assert state["canary"] is None
    assert len(state["instances"]) == 1
    spec = json.loads(
        docker(stack.env, "service", "inspect", f"{stack.name}_app", "--format", "{{json .Spec}}")
    )
    # Swarm restarts a task that dies (a new container): the next command adopts it.
    docker(stack.env, "kill", task_container(stack, "app"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids = docker(
            stack.env,
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.swarm.service.name={stack.name}_app",
            "--filter",
            "health=healthy",
        ).split()
        if ids:
            break
        time.sleep(0.5)
    assert "already running" in stack.ok("deploy")
    assert stack.get("/").json()["version"] == "2.0.0"
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"


def test_swarm_tracks_run_their_own_pinned_images(swarm_stack: Stack, releases: Releases) -> None:
    """As the compose test_release_images, on swarm: a task swarm itself restarts after the
    stable tag moved still runs the image ID stable was started with."""
    stack = swarm_stack
    releases.use_tag(stack)
    stack.ok("deploy")
    assert pinned(stack, "stable")["id"] == releases.old
    with Load(stack.port, threads=2) as load:
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        assert pinned(stack, "canary")["id"] == releases.new
        assert welcome(stack, **{"X-Canary": "always"}).startswith(NEW_WELCOME)
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"
        assert "manifest.yaml set back to what stable runs" in stack.ok("rollback")
        assert f"image: {releases.tag}" in stack.manifest.read_text()

        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        docker(stack.env, "tag", NEW, releases.tag)
        killed = task_container(stack, "app")
        docker(stack.env, "kill", killed)
        restarted = wait_for_new_task(stack, "app", killed)
        assert stack.inspect(restarted)["Image"] == releases.old
        stack.ok("deploy")  # adopts the restarted task; a canary runs: nothing replaced
        assert pinned(stack, "stable")["id"] == releases.old
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"

        stack.ok("promote", "stable", "--window", "3")
    assert load.total > 100
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert pinned(stack, "stable")["id"] == releases.new
    assert stack.inspect(task_container(stack, "app"))["Image"] == releases.new
    for pin in ({}, {"X-Canary": "never"}, {"X-Canary": "always"}):
        for _ in range(5):
            assert welcome(stack, **pin).startswith(NEW_WELCOME), pin


def wait_for_new_task(stack: Stack, service: str, old: str, timeout_s: float = 60) -> str:
    """The healthy container swarm started for `service` in place of `old`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ids = docker(stack.env, "ps", "-q", "--no-trunc", "--filter",
                     f"label=com.docker.swarm.service.name={stack.name}_{service}",
                     "--filter", "health=healthy").split()  # fmt: skip
        fresh = [found for found in ids if not old.startswith(found) and not found.startswith(old)]
        if fresh:
            return fresh[0]
        time.sleep(0.5)
    raise AssertionError(f"swarm started no new healthy {service} task within {timeout_s:g}s")
