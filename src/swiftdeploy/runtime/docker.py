"""The `docker` command lines the container runtimes (compose, swarm) share, built in one place.

Each function is one docker call; none raises for a container that is gone (they answer
"not running" or None instead), so a runtime's reconcile can ask freely.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from swiftdeploy import _process
from swiftdeploy._manifest_service import HealthSpec
from swiftdeploy.containers import health_probe
from swiftdeploy.errors import SwiftDeployError
from swiftdeploy.runtime.base import Health
from swiftdeploy.runtime.health import judge
from swiftdeploy.state import InstanceRecord

DRAIN_TIMEOUT_S = 30  # an app container's SIGTERM → SIGKILL grace (in-flight requests finish)


def inspect(container: str) -> dict[str, Any] | None:
    if not container:
        return None
    result = _process.run(["docker", "inspect", container], timeout=30, check=False)
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout or "[]")
    return data[0] if data and isinstance(data[0], dict) else None


def running(container: str) -> tuple[bool, int]:
    """(is it running, its host pid)."""
    info = inspect(container)
    state = info.get("State") if info else None
    if not isinstance(state, dict) or not state.get("Running"):
        return False, 0
    return True, int(state.get("Pid") or 0)


def env_of(container: str) -> dict[str, str]:
    info = inspect(container) or {}
    config = info.get("Config")
    env = config.get("Env") if isinstance(config, dict) else None
    pairs = [str(item).partition("=") for item in env or []]
    return {key: value for key, _, value in pairs}


def execute(
    container: str, *argv: str, timeout: float = 30, check: bool = True
) -> _process.Completed:
    return _process.run(["docker", "exec", container, *argv], timeout=timeout, check=check)


def nginx(container: str, *args: str, conf: str) -> None:
    """`nginx <args> -c conf` inside the proxy container (a test, a reload)."""
    execute(container, "nginx", *args, "-c", conf)


def stop(container: str, *, grace_s: int = DRAIN_TIMEOUT_S) -> None:
    """Drain (SIGTERM: the service finishes its in-flight requests), then remove."""
    _process.run(
        ["docker", "stop", "-t", str(grace_s), container], timeout=grace_s + 30, check=False
    )
    remove(container)


def remove(container: str) -> None:
    _process.run(["docker", "rm", "-f", container], timeout=60, check=False)


def listed(*argv: str) -> list[str]:
    """The words a listing command prints (`ps -q`, `stack services --format ...`)."""
    return _process.run(["docker", *argv], timeout=30, check=False).stdout.split()


def report(container: str, *, lines: int = 3) -> str:
    """One line on why a container is not serving: its state, then its last log lines."""
    info = _process.run(
        ["docker", "inspect", "--format", "{{json .State}}", container], timeout=30, check=False
    )
    try:
        state = json.loads(info.stdout) if info.returncode == 0 else {}
    except ValueError:
        state = {}
    if not isinstance(state, dict) or not state:
        return f"container {container[:12]} is gone"
    status = str(state.get("Status", "unknown"))
    if state.get("Restarting") or status == "exited":
        status += f" (exit code {state.get('ExitCode')})"
    logs = _process.run(
        ["docker", "logs", "--tail", str(lines), container], timeout=30, check=False
    )
    tail = [line.strip() for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    said = " | ".join(tail[-lines:]) or "nothing"
    return f"container {container[:12]} is {status}; its log ends: {said}"


def wait_http(url: str, *, timeout: float, container: str = "") -> None:
    """Wait for url to answer; if it never does, say why (the container's state and log)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        time.sleep(0.2)
    message = f"{url} did not answer within {timeout:g}s ({last})"
    raise SwiftDeployError(f"{message}; {report(container)}" if container else message)


def instance_health(instance: InstanceRecord, port: int, check: HealthSpec) -> Health:
    """services.health asked inside the instance's own container (it must be that exact one)."""
    if not running(instance.container)[0]:
        return Health(
            False,
            f"container {instance.container[:12]} has exited; " + report(instance.container),
            exited=True,
        )
    probe = health_probe(port, path=check.path, timeout=check.timeout, echo=True)
    result = execute(
        instance.container, "python3", "-c", probe, timeout=15 + check.timeout, check=False
    )
    status_line, _, body = result.stdout.partition("\n")
    if result.returncode != 0 or not status_line.isdigit():
        lines = result.stderr.strip().splitlines()
        return Health(False, f"{check.path}: {lines[-1] if lines else 'no answer'}")
    return judge(check, instance, int(status_line), body.encode())


def track_client(instance: InstanceRecord, nginx_port: int, *, timeout: float) -> httpx.Client:
    """A client for one track: through nginx, pinned with `X-Canary: always|never`.

    The app has no host port and container addresses are private.
    """
    pin = "always" if instance.track == "canary" else "never"
    return httpx.Client(
        base_url=f"http://127.0.0.1:{nginx_port}", headers={"X-Canary": pin}, timeout=timeout
    )
