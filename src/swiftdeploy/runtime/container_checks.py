"""Pre-flight checks the container runtimes (compose, swarm) share."""

from __future__ import annotations

import tempfile
from pathlib import Path

from swiftdeploy.checks import CheckResult, check_image, nginx_test
from swiftdeploy.containers import (
    CONTAINER_TMP,
    NGINX_CONF_DIR,
    NGINX_LOG_DIR,
    NGINX_REQUEST_LOG_DIR,
    OPA_IMAGE,
)
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import render_nginx
from swiftdeploy.runtime.compose.files import proxy_target


def preflight(manifest: Manifest) -> tuple[CheckResult, CheckResult]:
    """A container runtime's two checks: its images exist; `nginx -t` passes in its image."""
    return check_images(manifest), check_nginx_in_image(manifest)


def check_images(manifest: Manifest) -> CheckResult:
    """Every image the stack runs exists locally (the service's first)."""
    images = [manifest.services.image, manifest.nginx.image]
    if manifest.policy.engine == "opa":
        images.append(OPA_IMAGE)
    for image in dict.fromkeys(images):
        result = check_image(image)
        if not result.passed:
            return result
    if len(images) == 1:
        return result
    return CheckResult("image", True, f"Docker images exist locally: {', '.join(images)}")


def check_nginx_in_image(manifest: Manifest) -> CheckResult:
    """`nginx -t` in a throw-away container of the manifest's nginx image, no network.

    The upstream service names resolve to 127.0.0.1 there (--add-host): nginx -t only
    needs them to resolve, and the container can reach nothing.
    """
    svc = manifest.services
    target = proxy_target(manifest, canary_running=True, canary_weight=50)
    with tempfile.TemporaryDirectory(prefix="swiftdeploy-nginx-t-") as tmp:
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(render_nginx(manifest, target), encoding="utf-8")
        conf.chmod(0o644)
        Path(tmp).chmod(0o755)
        argv = [
            "docker", "run", "--rm", "--network", "none", "--read-only",
            "--tmpfs", CONTAINER_TMP, "--tmpfs", NGINX_LOG_DIR,
            "--tmpfs", NGINX_REQUEST_LOG_DIR,
            "--add-host", f"{svc.name}:127.0.0.1", "--add-host", f"{svc.name}-canary:127.0.0.1",
            "-v", f"{tmp}:{NGINX_CONF_DIR}:ro",
            manifest.nginx.image, "nginx", "-t", "-q", "-c", f"{NGINX_CONF_DIR}/nginx.conf",
        ]  # fmt: skip
        passed = f"nginx.conf is syntactically valid (in {manifest.nginx.image})"
        return nginx_test(argv, timeout=60, passed=passed)
