"""`swiftdeploy validate` through a real process: the five checks, exit codes, --json."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from seed_support import seed_text

SEED = seed_text(nginx_port="{port}")


def validate(
    folder: Path, *args: str, nginx: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("SWIFTDEPLOY_MANIFEST", None)
    if nginx:
        env["SWIFTDEPLOY_NGINX"] = nginx
    return subprocess.run(
        [sys.executable, "-m", "swiftdeploy", "validate", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_all_five_checks_pass(tmp_path: Path, port: int, nginx_bin: str) -> None:
    (tmp_path / "manifest.yaml").write_text(SEED.format(port=port))
    result = validate(tmp_path, nginx=nginx_bin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "==> Running pre-flight checks",
        "  [PASS] manifest.yaml exists and is valid YAML",
        "  [PASS] All required fields present and non-empty",
        "  [PASS] Demo service (swiftdeploy.demo) can start",
        f"  [PASS] Nginx port {port} is not already bound",
        "  [PASS] nginx.conf is syntactically valid",
        "",
        "  Results: 5 passed, 0 failed",
    ]


def test_bound_port_fails_with_exit_1(tmp_path: Path, port: int, nginx_bin: str) -> None:
    (tmp_path / "manifest.yaml").write_text(SEED.format(port=port))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        result = validate(tmp_path, nginx=nginx_bin)
    assert result.returncode == 1
    assert f"  [FAIL] Nginx port {port} is already bound" in result.stdout
    assert "Results: 4 passed, 1 failed" in result.stdout


def test_missing_manifest_skips_the_rest(tmp_path: Path) -> None:
    result = validate(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1] == "  [FAIL] manifest.yaml: manifest not found"
    assert all("(skipped: " in line for line in lines[2:6])
    assert lines[-1] == "  Results: 0 passed, 5 failed"
    assert "Traceback" not in result.stderr


def test_invalid_field_is_listed_under_its_check(tmp_path: Path, port: int) -> None:
    (tmp_path / "manifest.yaml").write_text(
        SEED.format(port=port).replace("mode: stable", "mode: blue")
    )
    result = validate(tmp_path)
    assert result.returncode == 1
    assert "  [PASS] manifest.yaml exists and is valid YAML" in result.stdout
    assert "  [FAIL] Required fields missing or invalid (1 problem(s))" in result.stdout
    assert (
        "manifest.yaml:5:9: services.mode: must be one of 'stable' or 'canary' (got 'blue')"
        in result.stdout
    )
    assert "Results: 1 passed, 4 failed" in result.stdout


def test_custom_local_command_must_be_on_path(tmp_path: Path, port: int) -> None:
    (tmp_path / "manifest.yaml").write_text(
        SEED.format(port=port) + "local:\n  command: [definitely-not-a-real-binary-xyz]\n"
    )
    result = validate(tmp_path)
    assert result.returncode == 1
    assert (
        "  [FAIL] Service command 'definitely-not-a-real-binary-xyz' not found on PATH"
        in result.stdout
    )


def test_json_output(tmp_path: Path, port: int, nginx_bin: str) -> None:
    (tmp_path / "manifest.yaml").write_text(SEED.format(port=port))
    result = validate(tmp_path, "--json", nginx=nginx_bin)
    assert result.returncode == 0, result.stdout
    payload = json.loads(result.stdout)
    assert payload["passed"] == 5
    assert payload["failed"] == 0
    assert [check["name"] for check in payload["checks"]] == [
        "manifest",
        "fields",
        "image",
        "port",
        "nginx",
    ]
    assert all(check["passed"] for check in payload["checks"])


def test_nginx_t_failure_is_reported(tmp_path: Path, port: int) -> None:
    fake = tmp_path / "fake-nginx"
    fake.write_text("#!/bin/sh\necho 'nginx: [emerg] unknown directive \"bogus\"' >&2\nexit 1\n")
    fake.chmod(0o755)
    (tmp_path / "manifest.yaml").write_text(SEED.format(port=port))
    result = validate(tmp_path, nginx=str(fake))
    assert result.returncode == 1
    assert (
        '  [FAIL] nginx.conf is not valid: nginx: [emerg] unknown directive "bogus"'
        in result.stdout
    )


def test_compose_runtime_checks_the_docker_image(tmp_path: Path, port: int) -> None:
    (tmp_path / "manifest.yaml").write_text(SEED.format(port=port) + "runtime: compose\n")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    docker = fake_bin / "docker"
    docker.write_text("#!/bin/sh\necho 'Error: No such image' >&2\nexit 1\n")
    docker.chmod(0o755)
    env_path = f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [sys.executable, "-m", "swiftdeploy", "validate"],
        cwd=tmp_path,
        env={**os.environ, "PATH": env_path, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "  [FAIL] Docker image 'swift-deploy-1-node:latest' not found locally" in result.stdout
