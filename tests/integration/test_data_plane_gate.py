"""The gate judges what nginx served, whatever the service exports (real nginx, loopback).

A service with no /metrics is released and its broken canary refused by the error rate the
collector measured; a killed collector makes every gate fail closed (and `status` says why)
until `deploy` restarts it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lifecycle_support import Load, Project, make_project

pytestmark = pytest.mark.integration

PLAIN_SERVICE = Path(__file__).with_name("plain_service.py")


@pytest.fixture
def plain_project(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[tuple[Project, Path]]:
    broken = tmp_path / "break-canary"
    command = json.dumps([sys.executable, str(PLAIN_SERVICE), "{socket}"])
    project = make_project(
        tmp_path,
        port,
        nginx_bin,
        extra=f"local:\n  command: {command}\ncanary:\n  weight: 50\n",
        env={"PLAIN_BREAK_FILE": str(broken)},
    )
    try:
        yield project, broken
    finally:
        project.teardown_and_check()


def test_a_service_without_metrics_is_gated_on_what_nginx_served(
    plain_project: tuple[Project, Path],
) -> None:
    project, broken = plain_project
    project.ok("deploy")
    project.ok("promote", "canary")
    assert project.get("/metrics").status_code == 404  # nothing to scrape
    broken.touch()
    with Load(project.port, threads=2) as load:
        time.sleep(4)
        refused = project.run("promote", "stable", "--window", "3")
    assert load.total >= 50
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Judging the canary's last 3s as nginx served it" in refused.stdout
    assert "[DENY] Error rate 100.00% exceeds maximum 1.00%" in refused.stdout
    assert project.state()["canary"] is not None  # refused: nothing moved

    broken.unlink()
    with Load(project.port, threads=2) as load:
        time.sleep(4)
        project.ok("promote", "stable", "--window", "3")
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert project.state()["canary"] is None


def collector_line(project: Project) -> str:
    """The Collector line of `status --once`'s plain lines."""
    lines = project.ok("status", "--once", "--interval", "0.2").splitlines()
    found = [line for line in lines if line.startswith("  Collector  : ")]
    assert len(found) == 1, lines
    return found[0]


def collector_json(project: Project) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(
        project.ok("status", "--once", "--json", "--interval", "0.2")
    )["collector"]
    return shown


def test_a_killed_collector_fails_every_gate_closed_until_deploy_restarts_it(
    plain_project: tuple[Project, Path],
) -> None:
    project, _ = plain_project
    project.ok("deploy")
    project.ok("promote", "canary")
    pid_file = project.root / ".swiftdeploy" / "collector" / "collector.pid"
    pid = int(pid_file.read_text())
    assert collector_line(project) == f"  Collector  : running (pid {pid})"
    assert collector_json(project) == {"running": True, "pid": pid, "reason": ""}
    os.kill(pid, signal.SIGKILL)
    dead = re.compile(
        r"no measurements since \d\d:\d\d:\d\d UTC \(\d+ s ago\): the collector is not running"
    )
    assert dead.fullmatch(collector_line(project).removeprefix("  Collector  : "))
    shown = collector_json(project)
    assert (shown["running"], shown["pid"]) == (False, None)
    assert dead.fullmatch(str(shown["reason"])), shown
    with Load(project.port) as load:
        time.sleep(2)
        refused = project.run("promote", "stable", "--window", "2")
    assert load.failures == 0  # nginx serves on; only the measuring stopped
    out = refused.stdout + refused.stderr
    assert refused.returncode == 1, out
    assert "the collector is not running" in out
    assert "Traceback" not in out
    assert project.state()["canary"] is not None

    redeployed = project.ok("deploy")
    assert "restarted the collector" in redeployed
    assert collector_line(project) == f"  Collector  : running (pid {pid_file.read_text().strip()})"
    with Load(project.port, threads=2):
        time.sleep(3)
        project.ok("promote", "stable", "--window", "2")
