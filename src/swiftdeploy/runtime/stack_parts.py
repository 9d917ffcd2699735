"""The pieces the Compose and Swarm files share: the app's environment and probes, limits."""

from __future__ import annotations

from typing import Any

from swiftdeploy._manifest_service import status_bounds
from swiftdeploy.containers import GENERATED_NOTE, health_probe
from swiftdeploy.manifest import Manifest


def app_environment(manifest: Manifest, mode: str, version_var: str) -> dict[str, str]:
    """services.env, then MODE, APP_VERSION (from the runtime's variable, defaulting to the
    manifest) and APP_PORT.

    The operator's values are data: `$` is doubled, so Compose and `docker stack deploy`
    pass it through instead of interpolating a variable (names are [A-Z_][A-Z0-9_]* and
    never one of ours, so they need nothing).
    """
    svc = manifest.services
    return {
        **{name: value.replace("$", "$$") for name, value in svc.env.items()},
        "MODE": mode,
        "APP_VERSION": f"${{{version_var}:-{svc.version}}}",
        "APP_PORT": str(svc.port),
    }


def app_healthcheck(manifest: Manifest) -> dict[str, Any]:
    """services.health as the container engine's check (its restart and update decisions).

    Docker's timeout is the probe's own plus a second for the interpreter to start.
    """
    check = manifest.services.health
    probe = health_probe(
        manifest.services.port,
        path=check.path,
        timeout=check.timeout,
        status=status_bounds(check.status),
    )
    return {
        "test": ["CMD", "python3", "-c", probe],
        "interval": _go_duration(check.interval),
        "timeout": _go_duration(check.timeout + 1),
        "retries": 5,
        "start_period": "10s",
    }


def _go_duration(seconds: float) -> str:
    """Seconds as a Go duration (`2s`, `0.5s`), the form Compose and swarm read."""
    return f"{round(seconds, 3):g}s"


def proxy_healthcheck(manifest: Manifest) -> dict[str, Any]:
    # Any HTTP answer (even the app's 404 or our JSON 502) means nginx is serving.
    url = f"http://127.0.0.1:{manifest.nginx.port}/"
    return {
        "test": ["CMD", "curl", "-s", "-o", "/dev/null", url],
        "interval": "5s",
        "timeout": "3s",
        "retries": 5,
    }


def limits(cpus: str, memory: str) -> dict[str, Any]:
    return {"resources": {"limits": {"cpus": cpus, "memory": memory}}}


def dump_yaml(data: dict[str, Any], digest: str | None) -> str:
    """The generated-file header, then data as YAML with sorted keys (byte-stable)."""
    import yaml

    header = f"# {GENERATED_NOTE}\n# manifest sha256: {digest or 'unknown'}\n"
    body = yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return header + body
