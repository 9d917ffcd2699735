"""The resident collector is started once, adopted after the CLI dies, restarted after a
kill -9 without losing what the log holds, and stopped gracefully (real nginx, real
collector processes)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from collector_support import rig
from swiftdeploy.collector import journal, query, supervise
from swiftdeploy.errors import CommandFailed, StateError

pytestmark = pytest.mark.integration


def send(url: str, count: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(count):
            assert client.get("/ok").status_code == 200


def counted(url: str, track: str = "stable") -> int:
    figures = query.window(url, track, 60)
    return figures.requests


def wait_counted(url: str, expected: int) -> int:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if (n := counted(url)) >= expected:
            return n
        time.sleep(0.1)
    return counted(url)


def test_started_adopted_restarted_and_stopped(tmp_path: Path, nginx_bin: str) -> None:
    with rig(tmp_path, nginx_bin) as r:
        process_log = r.root / "collector.out"
        first = supervise.ensure_running(r.state_dir, r.log, process_log=process_log)
        assert first.started
        assert first.url is not None
        assert first.pid is not None
        try:
            send(r.url, 40)
            assert wait_counted(first.url, 40) == 40

            again = supervise.ensure_running(r.state_dir, r.log, process_log=process_log)
            assert not again.started
            assert again.pid == first.pid
            assert supervise.locate(r.state_dir) == again

            os.kill(first.pid, signal.SIGKILL)
            os.waitpid(first.pid, 0)  # our child (posix_spawn): gone once reaped
            assert not supervise.locate(r.state_dir).running
            send(r.url, 25)  # served while nobody measured: the log keeps it

            restarted = supervise.ensure_running(r.state_dir, r.log, process_log=process_log)
            assert restarted.started
            assert restarted.pid != first.pid
            # The same address as before: an operator's Prometheus keeps scraping it.
            assert restarted.url == first.url
            assert wait_counted(restarted.url, 65) == 65
        finally:
            stopped = supervise.stop(r.state_dir)
        assert stopped
        assert not supervise.locate(r.state_dir).running
        assert not supervise.stop(r.state_dir)


def test_other_exclusions_replace_the_running_collector(tmp_path: Path, nginx_bin: str) -> None:
    with rig(tmp_path, nginx_bin) as r:
        out = r.root / "collector.out"
        first = supervise.ensure_running(
            r.state_dir, r.log, process_log=out, excluded_paths=("/a",)
        )
        try:
            same = supervise.ensure_running(
                r.state_dir, r.log, process_log=out, excluded_paths=("/a",)
            )
            assert (same.started, same.pid) == (False, first.pid)
            # A prefix of the old settings is other settings too, not an adoption.
            for paths in (("/a", "/ok"), ("/ok",)):
                other = supervise.ensure_running(
                    r.state_dir, r.log, process_log=out, excluded_paths=paths
                )
                assert other.started, paths
                assert other.pid != first.pid
            assert other.url is not None
            send(r.url, 10)  # /ok is excluded now: counted apart, never in a window
            exposed = ""
            for _ in range(150):
                exposed = httpx.get(f"{other.url}/metrics", timeout=5).text
                if 'reason="path",track="stable"} 10.0' in exposed:
                    break
                time.sleep(0.1)
            assert 'swiftdeploy_excluded_requests_total{reason="path",track="stable"} 10.0' in (
                exposed
            )
            assert counted(other.url) == 0
        finally:
            supervise.stop(r.state_dir)


def test_a_pid_file_naming_a_stranger_is_not_adopted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "collector.pid").write_text(f"{os.getppid()}\n")  # alive, but not ours
    (state / "collector.port").write_text("9\n")
    assert not supervise.locate(state).running
    assert not supervise.stop(state)


def test_a_collector_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / journal.FILENAME).mkdir(parents=True)  # its journal cannot be opened
    with pytest.raises(
        CommandFailed, match=r"the collector exited within 10s of starting: "
    ) as info:
        supervise.ensure_running(
            state, tmp_path / "log", process_log=tmp_path / "out", timeout_s=10
        )
    assert "collector: cannot start" in info.value.message
    assert "\n" not in info.value.message


def test_a_folder_that_cannot_be_made_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StateError, match="cannot create the collector's folder"):
        supervise.ensure_running(blocker / "state", tmp_path / "log", process_log=tmp_path / "o")
