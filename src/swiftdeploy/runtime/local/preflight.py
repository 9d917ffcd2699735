"""The local runtime's pre-flight checks: the service command is found, `nginx -t` passes
on the very layout the runtime runs (in a throw-away folder, so no Docker or DNS needed)."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from swiftdeploy.checks import CheckResult, check_program, nginx_binary, nginx_test
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import render_nginx
from swiftdeploy.runtime.local.layout import nginx_argv, nginx_target, worker_user


def check_service(manifest: Manifest) -> CheckResult:
    command = manifest.local.command
    if command is None:
        if importlib.util.find_spec("swiftdeploy.demo") is None:
            return CheckResult("image", False, "Demo service (swiftdeploy.demo) is not installed")
        return CheckResult("image", True, "Demo service (swiftdeploy.demo) can start")
    return check_program(command[0])


def check_nginx(manifest: Manifest) -> CheckResult:
    nginx = nginx_binary()
    if nginx is None:
        return CheckResult("nginx", False, "nginx.conf could not be tested: nginx not found")
    with tempfile.TemporaryDirectory(prefix="swiftdeploy-nginx-t-") as tmp:
        prefix = Path(tmp).resolve()
        target = nginx_target(
            run_dir=prefix / "run",
            nginx_dir=prefix / "nginx",
            logs_dir=prefix / "logs",
            user=worker_user(),
        )
        for folder in (*target.directories, prefix / "run" / "nginx-temp"):
            folder.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx(manifest, target), encoding="utf-8")
        argv = nginx_argv(nginx, prefix=prefix, conf=conf, error_log=prefix / "error.log")
        return nginx_test(
            [*argv, "-t", "-q"], timeout=30, passed="nginx.conf is syntactically valid"
        )
