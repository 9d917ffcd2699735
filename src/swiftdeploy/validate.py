"""`validate`: the five pre-flight checks of the seeds, each a PASS/FAIL with its reason.

A check that needs an earlier one (a parsed manifest) is reported as a FAIL with a
"skipped: ..." reason instead of being left out, so the count is always five.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from swiftdeploy import _process
from swiftdeploy.errors import CommandFailed, ManifestError
from swiftdeploy.manifest import Manifest, parse_manifest, read_manifest_bytes


@dataclass(frozen=True)
class CheckResult:
    name: str  # stable identifier for --json: manifest, fields, image, port, nginx
    passed: bool
    message: str
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "details": self.details,
        }


def validate(manifest_path: Path) -> list[CheckResult]:
    """Run every check; never raises for a problem it can report."""
    from swiftdeploy._manifest_yaml import decode_and_compose

    label = manifest_path.name
    results: list[CheckResult] = []
    data: bytes | None = None
    try:
        data = read_manifest_bytes(manifest_path)
        decode_and_compose(data, label)
        results.append(CheckResult("manifest", True, f"{label} exists and is valid YAML"))
    except ManifestError as exc:
        results.append(
            CheckResult("manifest", False, exc.problems[0] if exc.problems else exc.message)
        )
        data = None

    manifest: Manifest | None = None
    if data is None:
        results.append(
            _skipped("fields", "All required fields present", f"{label} could not be read")
        )
    else:
        try:
            manifest = parse_manifest(data, label)
            results.append(CheckResult("fields", True, "All required fields present and non-empty"))
        except ManifestError as exc:
            results.append(
                CheckResult(
                    "fields",
                    False,
                    f"Required fields missing or invalid ({len(exc.problems)} problem(s))",
                    details=exc.problems,
                )
            )

    if manifest is None:
        reason = "the manifest is not valid"
        results += [
            _skipped("image", "The service can start", reason),
            _skipped("port", "The nginx port is not already bound", reason),
            _skipped("nginx", "nginx.conf is syntactically valid", reason),
        ]
        return results
    results.append(check_service(manifest))
    results.append(check_port(manifest.nginx.port))
    results.append(check_nginx(manifest))
    return results


def _skipped(name: str, title: str, reason: str) -> CheckResult:
    return CheckResult(name, False, f"{title} (skipped: {reason})")


def check_service(manifest: Manifest) -> CheckResult:
    """The service can start: its image exists (compose) or its command is found (local)."""
    if manifest.runtime in ("compose", "swarm"):
        return check_images(manifest)
    command = manifest.local.command
    if command is None:
        if importlib.util.find_spec("swiftdeploy.demo") is None:
            return CheckResult("image", False, "Demo service (swiftdeploy.demo) is not installed")
        return CheckResult("image", True, "Demo service (swiftdeploy.demo) can start")
    program = command[0]
    found = _process.which(program) if "/" not in program else _executable(program)
    if found is None:
        return CheckResult("image", False, f"Service command {program!r} not found on PATH")
    return CheckResult("image", True, f"Service command {program!r} found ({found})")


def check_image(image: str) -> CheckResult:
    try:
        _process.run(["docker", "image", "inspect", image], timeout=30)
    except CommandFailed as exc:
        if exc.returncode is None:  # docker missing or hung
            return CheckResult(
                "image", False, f"Docker image '{image}' could not be checked: {exc.message}"
            )
        return CheckResult("image", False, f"Docker image '{image}' not found locally")
    return CheckResult("image", True, f"Docker image '{image}' exists locally")


def check_images(manifest: Manifest) -> CheckResult:
    """Every image the compose stack runs exists locally (the service's first)."""
    from swiftdeploy.render import OPA_IMAGE

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


def _executable(program: str) -> str | None:
    return program if os.path.isfile(program) and os.access(program, os.X_OK) else None


def check_port(port: int) -> CheckResult:
    """Free on loopback and on every interface (nginx binds one of them)."""
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # SO_REUSEADDR: a port in TIME_WAIT is usable, only a listener counts as bound.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except PermissionError:
                return CheckResult(
                    "port", False, f"Nginx port {port} cannot be bound without privileges"
                )
            except OSError as exc:
                return CheckResult(
                    "port", False, f"Nginx port {port} is already bound ({host}: {exc.strerror})"
                )
    return CheckResult("port", True, f"Nginx port {port} is not already bound")


def nginx_binary() -> str | None:
    return os.environ.get("SWIFTDEPLOY_NGINX") or _process.which("nginx")


def check_nginx(manifest: Manifest) -> CheckResult:
    """`nginx -t` on the local-target rendering, so neither Docker nor DNS is needed.

    With the compose runtime: on the compose rendering, inside the nginx image.
    """
    from swiftdeploy.render import local_nginx_target, render_nginx

    if manifest.runtime in ("compose", "swarm"):
        return check_nginx_in_image(manifest)
    nginx = nginx_binary()
    if nginx is None:
        return CheckResult("nginx", False, "nginx.conf could not be tested: nginx not found")
    with tempfile.TemporaryDirectory(prefix="swiftdeploy-nginx-t-") as tmp:
        prefix = Path(tmp)
        target = local_nginx_target(manifest, prefix / "state")
        for folder in target.directories:
            folder.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx(manifest, target), encoding="utf-8")
        argv = [
            nginx,
            "-t",
            "-q",
            "-p",
            str(prefix),
            "-c",
            str(conf),
            "-e",
            str(prefix / "error.log"),
        ]
        try:
            _process.run(argv, timeout=30)
        except CommandFailed as exc:
            lines = [line for line in exc.stderr.strip().splitlines() if line.strip()]
            reason = lines[0] if lines else exc.message
            return CheckResult("nginx", False, f"nginx.conf is not valid: {reason}", details=lines)
    return CheckResult("nginx", True, "nginx.conf is syntactically valid")


def check_nginx_in_image(manifest: Manifest) -> CheckResult:
    """`nginx -t` in a throw-away container of the manifest's nginx image, no network.

    The upstream service names resolve to 127.0.0.1 there (--add-host): nginx -t only
    needs them to resolve, and the container can reach nothing.
    """
    from swiftdeploy.render import (
        CONTAINER_TMP,
        NGINX_CONF_DIR,
        NGINX_LOG_DIR,
        compose_stack_nginx_target,
        render_nginx,
    )

    svc = manifest.services
    target = compose_stack_nginx_target(manifest, canary_running=True, canary_weight=50)
    with tempfile.TemporaryDirectory(prefix="swiftdeploy-nginx-t-") as tmp:
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(render_nginx(manifest, target), encoding="utf-8")
        conf.chmod(0o644)
        Path(tmp).chmod(0o755)
        argv = [
            "docker", "run", "--rm", "--network", "none", "--read-only",
            "--tmpfs", CONTAINER_TMP, "--tmpfs", NGINX_LOG_DIR,
            "--add-host", f"{svc.name}:127.0.0.1", "--add-host", f"{svc.name}-canary:127.0.0.1",
            "-v", f"{tmp}:{NGINX_CONF_DIR}:ro",
            manifest.nginx.image, "nginx", "-t", "-q", "-c", f"{NGINX_CONF_DIR}/nginx.conf",
        ]  # fmt: skip
        try:
            _process.run(argv, timeout=60)
        except CommandFailed as exc:
            if exc.returncode is None:
                return CheckResult("nginx", False, f"nginx.conf could not be tested: {exc.message}")
            lines = [line for line in exc.stderr.strip().splitlines() if line.strip()]
            reason = lines[0] if lines else exc.message
            return CheckResult("nginx", False, f"nginx.conf is not valid: {reason}", details=lines)
    return CheckResult(
        "nginx", True, f"nginx.conf is syntactically valid (in {manifest.nginx.image})"
    )
