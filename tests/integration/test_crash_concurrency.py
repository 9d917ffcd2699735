"""kill -9 of the CLI at seeded random points, and eight commands racing for the lock.

Crash trials (48 by default, about 50 in all; SWIFTDEPLOY_CRASH_TRIALS changes it): each
starts a command, SIGKILLs it after a seeded delay in [0, 1.5] s, then runs the next
command, which must succeed by reconciling; the history must verify; after teardown no
process from the test survives (pids from state.json and any process carrying the
project's socket folder or path).
One deployed project is reused across the trials of a test to bound the time.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lifecycle_support import Project, make_project, served_by
from swiftdeploy.history import History

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = int(os.environ.get("SWIFTDEPLOY_CRASH_TRIALS", "48"))


@pytest.fixture
def local(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    project = make_project(tmp_path, port, nginx_bin)
    try:
        yield project
    finally:
        project.teardown_and_check()


def _kill_after(project: Project, delay: float, *args: str) -> None:
    proc = subprocess.Popen(
        project.argv(*args), env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def _check(project: Project, seen: set[int], what: str) -> None:
    result = History(project.root / "history.jsonl").verify()
    assert result.ok, f"{what}: {result}"
    seen |= project.state_pids() | project.stray_pids()


@pytest.mark.parametrize("command", ["deploy", "promote", "rollback"])
def test_sigkill_at_random_points_is_reconciled(local: Project, command: str) -> None:
    rng = random.Random(f"crash-{command}")
    seen: set[int] = set()
    if command != "deploy":
        local.ok("deploy")
    for trial in range(max(TRIALS // 3, 1)):
        delay = rng.uniform(0.0, 1.5)
        what = f"{command} trial {trial} (killed after {delay:.2f}s)"
        if command == "deploy":
            _kill_after(local, delay, "deploy")
            _check(local, seen, what)
            local.ok("deploy")
            assert local.get("/").status_code == 200, what
            local.ok("teardown")
        elif command == "promote":
            _kill_after(local, delay, "promote", "canary")
            _check(local, seen, what)
            local.ok("promote", "canary")
            assert served_by(local.get("/", **{"X-Canary": "always"})) == "canary", what
            local.ok("rollback")
            assert served_by(local.get("/")) == "stable", what
        else:
            local.ok("promote", "canary")
            _kill_after(local, delay, "rollback")
            _check(local, seen, what)
            local.ok("rollback")
            assert served_by(local.get("/")) == "stable", what
            assert local.state()["canary"] is None, what
        _check(local, seen, what)
    local.ok("audit", "--verify")
    local.ok("teardown")
    survivors = {pid for pid in seen | local.stray_pids() if _alive(pid)}
    assert not survivors, f"processes outlived teardown: {survivors}"


def _alive(pid: int) -> bool:
    from lifecycle_support import running

    return running(pid)


def test_eight_concurrent_commands_are_serialised_by_the_lock(local: Project) -> None:
    local.ok("deploy")
    local.ok("promote", "canary")
    commands = [
        ("promote", "canary"),
        ("rollback",),
        ("status", "--once", "--interval", "0.2"),
        ("chaos", "error", "--rate", "0.1"),
    ] * 2
    before = len(local.history())
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda args: (args, local.run(*args, timeout=90)), commands))
    assert time.monotonic() - started < 90
    succeeded: list[str] = []
    for args, result in results:
        out = result.stdout + result.stderr
        assert "Traceback" not in out, (args, out)
        if result.returncode == 0:
            succeeded.append(args[0])
        else:
            assert result.returncode in (1, 2), (args, out)
            assert "holds the lock" in out or "needs a running canary" in out, (args, out)
    assert succeeded
    verified = local.run("audit", "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    new = [e["type"] for e in local.history()[before:]]
    for verb, event in (("promote", "promote"), ("rollback", "rollback"), ("chaos", "chaos")):
        assert new.count(event) >= succeeded.count(verb), (verb, new)
    assert new.count("status_sample") >= succeeded.count("status")
