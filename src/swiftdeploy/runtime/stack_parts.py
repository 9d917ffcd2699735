"""The pieces the Compose and Swarm files share: the app's environment and probes, limits."""

from __future__ import annotations

from typing import Any

from swiftdeploy.containers import GENERATED_NOTE, health_probe
from swiftdeploy.manifest import Manifest


def app_environment(manifest: Manifest, mode: str, version_var: str) -> dict[str, str]:
    """MODE, APP_VERSION (from the runtime's variable, defaulting to the manifest), APP_PORT."""
    svc = manifest.services
    return {
        "MODE": mode,
        "APP_VERSION": f"${{{version_var}:-{svc.version}}}",
        "APP_PORT": str(svc.port),
    }


def app_healthcheck(manifest: Manifest) -> dict[str, Any]:
    return {
        "test": ["CMD", "python3", "-c", health_probe(manifest.services.port)],
        "interval": "2s",
        "timeout": "3s",
        "retries": 5,
        "start_period": "10s",
    }


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
