"""The supervisor's decisions, without processes: which exits restart, after how long, and
the restart record a rollout analysis counts."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from swiftdeploy import restarts
from swiftdeploy.manifest import ServicesSpec
from swiftdeploy.runtime.local import launch
from swiftdeploy.runtime.local.restart_policy import (
    HEALTHY_RESET_S,
    MAX_S,
    Backoff,
    Exit,
    delay,
    should_restart,
)

KILLED = Exit(signal=signal.SIGKILL)
FAILED = Exit(code=3)
CLEAN = Exit(code=0)
UNKNOWN = Exit()


@pytest.mark.parametrize(
    ("policy", "exit", "expected"),
    [
        ("always", CLEAN, True),
        ("always", KILLED, True),
        ("always", UNKNOWN, True),
        ("on-failure", CLEAN, False),
        ("on-failure", FAILED, True),
        ("on-failure", KILLED, True),
        ("on-failure", UNKNOWN, True),  # not our child: only a known 0 is a success
        ("no", KILLED, False),
        ("no", FAILED, False),
        ("no", UNKNOWN, False),
    ],
)
def test_policy_decision(policy: str, exit: Exit, expected: bool) -> None:
    assert should_restart(policy, exit) is expected


def test_exit_from_wait_status_and_wording() -> None:
    assert Exit.from_wait_status(3 << 8) == Exit(code=3)
    assert Exit.from_wait_status(signal.SIGKILL) == KILLED
    assert KILLED.describe() == "killed by SIGKILL"
    assert FAILED.describe() == "exited 3"
    assert UNKNOWN.describe() == "exited (status unknown)"
    assert not UNKNOWN.known
    assert os.WIFEXITED(3 << 8)


def test_delay_doubles_from_half_a_second_to_thirty() -> None:
    assert [delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert delay(10_000) == MAX_S  # no overflow, however long it crashes


def test_backoff_waits_then_doubles_on_quick_crashes() -> None:
    backoff = Backoff()
    assert backoff.exited(100.0) == 0.5
    assert not backoff.ready(100.4)
    assert backoff.exited(100.4) == 0.5  # seen again on the next tick: the same wait
    assert backoff.ready(100.5)
    backoff.restarted(100.5)
    assert backoff.delay_s == 0.5
    assert backoff.exited(101.0) == 1.0  # crashed again half a second later
    assert not backoff.ready(101.9)
    assert backoff.ready(102.0)
    backoff.restarted(102.0)
    assert backoff.attempt == 2


def test_backoff_starts_over_after_a_healthy_minute() -> None:
    backoff = Backoff()
    now = 0.0
    for _ in range(5):
        backoff.exited(now)
        now = backoff.due or now
        backoff.restarted(now)
    assert backoff.attempt == 5
    assert backoff.exited(now + HEALTHY_RESET_S) == 0.5
    assert backoff.attempt == 1


def test_backoff_does_not_reset_while_waiting_for_the_lock() -> None:
    backoff = Backoff()
    backoff.exited(0.0)
    backoff.restarted(0.5)
    backoff.exited(1.0)
    assert backoff.attempt == 2
    backoff.exited(1.0 + HEALTHY_RESET_S)  # still down, a command held the lock all along
    assert backoff.attempt == 2


def test_manifest_restart_policy_default_and_yaml_no() -> None:
    base = {"image": "app:1", "port": 3000, "mode": "stable", "version": "1"}
    assert ServicesSpec.model_validate(base).restart == "always"
    assert ServicesSpec.model_validate({**base, "restart": False}).restart == "no"
    assert ServicesSpec.model_validate({**base, "restart": "on-failure"}).restart == "on-failure"
    with pytest.raises(ValueError, match="restart"):
        ServicesSpec.model_validate({**base, "restart": "unless-stopped"})


def test_restart_record_counts_since_and_forgets_stopped_instances(tmp_path: Path) -> None:
    assert restarts.count_since(tmp_path, "canary-1", 0.0) == 0
    restarts.record(tmp_path, "canary-1", "canary", 10.0, {"canary-1"})
    restarts.record(tmp_path, "canary-1", "canary", 20.0, {"canary-1", "stable-1"})
    restarts.record(tmp_path, "stable-1", "stable", 30.0, {"canary-1", "stable-1"})
    assert restarts.count_since(tmp_path, "canary-1", 15.0) == 1
    assert restarts.count_since(tmp_path, "canary-1", 0.0) == 2
    restarts.record(tmp_path, "stable-1", "stable", 40.0, {"stable-1"})
    assert restarts.count_since(tmp_path, "canary-1", 0.0) == 0
    for n in range(restarts.KEEP + 10):
        restarts.record(tmp_path, "stable-1", "stable", 100.0 + n, {"stable-1"})
    assert len(restarts.times(tmp_path, "stable-1")) == restarts.KEEP
    assert restarts.count(tmp_path, "stable-1") == restarts.KEEP + 12  # times are bounded
    assert restarts.count(tmp_path, "canary-1") == 0  # forgotten: no longer in the state
    (tmp_path / restarts.FILE).write_text("{not json")
    assert restarts.count_since(tmp_path, "stable-1", 0.0) == 0
    assert restarts.count(tmp_path, "stable-1") == 0


def test_a_restarts_file_without_counts_counts_its_times(tmp_path: Path) -> None:
    (tmp_path / restarts.FILE).write_text('{"stable-1": {"track": "stable", "times": [1, 2]}}')
    assert restarts.count(tmp_path, "stable-1") == 2
    restarts.record(tmp_path, "stable-1", "stable", 3.0, {"stable-1"})
    assert restarts.count(tmp_path, "stable-1") == 3


def test_launch_round_trip_is_private(tmp_path: Path) -> None:
    spec = launch.Launch(argv=["app", "--x"], env={"A": "1"}, log="/l.log", socket="/s.sock")
    launch.write(tmp_path, "stable-1", spec)
    path = launch.path_for(tmp_path, "stable-1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert launch.read(tmp_path, "stable-1") == spec
    named = launch.Launch(
        argv=["app"], env={}, log="/l.log", socket="/s.sock", track="canary",
        artifact={"kind": "command", "ref": "app", "id": "sha256:00", "version": "1.1.0"},
    )  # fmt: skip
    launch.write(tmp_path, "canary-1", named)
    assert launch.read(tmp_path, "canary-1") == named
    path.write_text('{"argv": []}')
    assert launch.read(tmp_path, "stable-1") is None
    launch.remove(tmp_path, "stable-1")
    launch.remove(tmp_path, "stable-1")
    assert launch.read(tmp_path, "stable-1") is None
