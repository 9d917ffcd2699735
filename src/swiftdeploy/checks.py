"""One pre-flight check's result, and the checks every runtime can use.

`validate` runs the checks in the seeds' order; each runtime supplies its own two (the
service can start, nginx.conf is valid) from these parts.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from swiftdeploy import _process
from swiftdeploy.errors import CommandFailed


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


def check_program(program: str) -> CheckResult:
    """A service command's program is found (on PATH, or at the path given)."""
    found = _process.which(program) if "/" not in program else executable(program)
    if found is None:
        return CheckResult("image", False, f"Service command {program!r} not found on PATH")
    return CheckResult("image", True, f"Service command {program!r} found ({found})")


def executable(program: str) -> str | None:
    return program if os.path.isfile(program) and os.access(program, os.X_OK) else None


def nginx_binary() -> str | None:
    return os.environ.get("SWIFTDEPLOY_NGINX") or _process.which("nginx")


def nginx_test(argv: list[str], *, timeout: float, passed: str) -> CheckResult:
    """Run an `nginx -t` command line: PASS with `passed`, or FAIL with nginx's first line."""
    try:
        _process.run(argv, timeout=timeout)
    except CommandFailed as exc:
        if exc.returncode is None:
            return CheckResult("nginx", False, f"nginx.conf could not be tested: {exc.message}")
        lines = [line for line in exc.stderr.strip().splitlines() if line.strip()]
        reason = lines[0] if lines else exc.message
        return CheckResult("nginx", False, f"nginx.conf is not valid: {reason}", details=lines)
    return CheckResult("nginx", True, passed)
