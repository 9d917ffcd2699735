"""The collector against the real nginx: every request counted on the track that served it.

The upstreams send nothing that names them; the truth is what each one counted itself.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from collector_support import Rig, Upstream, point, rig
from swiftdeploy.collector import query
from swiftdeploy.collector.nginx import mark_slots
from swiftdeploy.metrics import parse

pytestmark = pytest.mark.integration


def load(rig: Rig, total: int, *, workers: int = 4, path: str = "/work") -> list[int]:
    """`total` requests from `workers` threads; returns every status nginx answered."""
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        with httpx.Client(base_url=rig.url, timeout=10) as client:
            for _ in range(count):
                status = client.get(path).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=worker, args=(total // workers,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def while_loading(rig: Rig, total: int, steps: list[Callable[[], None]]) -> list[int]:
    """Run load while `steps` happen one after another, evenly spread over it."""
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.extend(load(rig, total)))
    runner.start()
    for step in steps:
        time.sleep(0.25)
        step()
    runner.join()
    return result


def counted(rig: Rig) -> dict[tuple[str, str], float]:
    """swiftdeploy_requests_total by (track, code), read back from the real exposition."""
    out: dict[tuple[str, str], float] = {}
    for line in rig.metrics().splitlines():
        if line.startswith("swiftdeploy_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            code = labels.split('code="')[1].split('"')[0]
            track = labels.split('track="')[1].split('"')[0]
            out[(track, code)] = float(value)
    return out


def per_track(rig: Rig) -> dict[str, float]:
    totals = {"stable": 0.0, "canary": 0.0}
    for (track, _code), value in counted(rig).items():
        totals[track] += value
    return totals


def gauge(rig: Rig, name: str) -> float:
    for line in rig.metrics().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def test_every_request_lands_on_the_track_that_served_it_across_switches(
    tmp_path: Path, nginx_bin: str
) -> None:
    with rig(tmp_path, nginx_bin) as r:
        r.start_collector()
        replacement = Upstream(r.root / "c.sock").start()  # a new stable instance
        try:
            statuses = while_loading(
                r,
                3000,
                [
                    lambda: mark_slots(r.route_dir, 5),
                    lambda: mark_slots(r.route_dir, 10),
                    lambda: point(r.root / "stable.sock", replacement.socket_path),
                    lambda: mark_slots(r.route_dir, 20),
                    lambda: mark_slots(r.route_dir, 0),
                ],
            )
            with httpx.Client(base_url=r.url) as client:
                for _ in range(7):
                    client.get("/healthz")
                for _ in range(11):
                    client.get("/work", headers={"X-Canary": "always"})
            r.wait_for_lines(3000 + 7 + 11)
            stable = r.stable.served() + replacement.served()
        finally:
            replacement.stop()
        assert statuses.count(200) == 3000
        assert r.canary.served() > 0
        assert r.stable.served() > 0
        assert replacement.served() > 0
        # Pinned requests reached the canary but are not canary figures.
        assert per_track(r) == {"stable": stable, "canary": r.canary.served() - 11}
        assert gauge(r, "swiftdeploy_collector_unparseable_lines_total") == 0
        text = r.metrics()
        assert 'swiftdeploy_excluded_requests_total{reason="pinned",track="canary"} 11.0' in text
        excluded = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("swiftdeploy_excluded_requests_total{") and "path" in line
        )
        assert excluded == 7
        time.sleep(1.1)  # let the last second complete
        window = query.window(r.collector_url, "canary", 60)
        assert window.requests == r.canary.served() - 11
        assert window.pinned == 11
        assert window.errors == 0


def test_a_killed_collector_resumes_where_its_journal_ends(tmp_path: Path, nginx_bin: str) -> None:
    with rig(tmp_path, nginx_bin) as r:
        mark_slots(r.route_dir, 10)
        r.start_collector()
        statuses = while_loading(
            r, 2000, [lambda: r.stop_collector(signal.SIGKILL), r.start_collector]
        )
        r.wait_for_lines(2000)
        assert statuses.count(200) == 2000
        assert per_track(r) == {"stable": r.stable.served(), "canary": r.canary.served()}
        time.sleep(1.1)  # a window holds whole seconds: let the last one complete
        r.stop_collector()
        # The process is gone; the journal alone still answers, and says how fresh it is.
        figures = query.window_from_journal(r.state_dir, "stable", 60)
        assert figures.requests == r.stable.served()
        assert query.staleness(figures) is None
        # Later, with nothing running, a gate is told since when nothing was measured.
        reason = query.staleness(figures, now=time.time() + 60)
        assert reason is not None
        assert reason.startswith("no measurements since ")
        assert reason.endswith(": the collector is not running")


def test_nginx_own_502s_count_as_errors_of_the_routed_track(tmp_path: Path, nginx_bin: str) -> None:
    with rig(tmp_path, nginx_bin) as r:
        r.start_collector()
        mark_slots(r.route_dir, 20)
        r.canary.stop()
        statuses = load(r, 40)
        r.wait_for_lines(40)
        assert statuses == [502] * 40
        assert counted(r) == {("canary", "502"): 40}
        time.sleep(1.1)
        figures = query.window(r.collector_url, "canary", 30)
        assert (figures.requests, figures.errors, figures.error_rate) == (40, 40, 1.0)


@pytest.mark.parametrize("canary_slots", [0, 4, 20])
def test_the_reload_switched_variant_routes_and_logs_by_a_rendered_map(
    tmp_path: Path, nginx_bin: str, canary_slots: int
) -> None:
    with rig(tmp_path, nginx_bin, map_slots=canary_slots) as r:
        r.start_collector()
        load(r, 200)
        r.wait_for_lines(200)
        assert per_track(r) == {"stable": r.stable.served(), "canary": r.canary.served()}
        assert (r.canary.served() > 0) == (canary_slots > 0)
        assert (r.stable.served() > 0) == (canary_slots < 20)


def test_garbage_in_the_log_is_counted_and_skipped(tmp_path: Path, nginx_bin: str) -> None:
    with rig(tmp_path, nginx_bin) as r:
        r.start_collector()
        load(r, 8)
        with r.log.open("ab") as handle:
            handle.write(b"\x00\xff not ours\nsd1\t1\t2\n" + b"z" * 50_000 + b"\n")
        load(r, 8)
        r.wait_for_lines(19)
        assert gauge(r, "swiftdeploy_collector_unparseable_lines_total") == 3
        assert sum(per_track(r).values()) == 16
        assert r.collector is not None
        assert r.collector.poll() is None
        # and the exposition is real Prometheus text
        assert parse(r.metrics()).gauges["swiftdeploy_collector_up"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port must be 0-65535"),
        (["--host", "0.0.0.0"], "--host must be a loopback address"),
        (["--retention", "5"], "--retention must be 60 s to 7 days"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    argv = [sys.executable, "-m", "swiftdeploy.collector", "--log", str(tmp_path / "l")]
    argv += ["--state-dir", str(tmp_path / "s"), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
