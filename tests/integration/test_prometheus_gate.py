"""`analysis.source: prometheus` through the whole CLI: real nginx, the demo service, the
collector, and a real Prometheus server that scrapes it (the Debian `prometheus` binary).

The gate's figures are PromQL answers: with Prometheus down the gate fails closed naming
it, with it up a canary broken by chaos is refused by its error rate and a healthy one is
promoted. `status --json` reads the same steady traffic from both sources; they agree
within the tolerances of tests/integration/test_collector_prometheus.py (Prometheus
extrapolates `increase()` to the window's edges, the collector counts whole seconds):
request rates and P99 within 15 %, error rates within 0.05.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector_support import prometheus
from lifecycle_support import Load, Project, free_port, make_project

pytestmark = pytest.mark.integration

STATUS_WINDOW = 10  # canary.window_s: the window `status` reads


@pytest.fixture
def prom_project(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[tuple[Project, int]]:
    prom_port = free_port()
    project = make_project(
        tmp_path,
        port,
        nginx_bin,
        extra=f"canary:\n  window_s: {STATUS_WINDOW}\n"
        f"analysis:\n  source: prometheus\n  prometheus_url: http://127.0.0.1:{prom_port}\n",
    )
    try:
        yield project, prom_port
    finally:
        project.teardown_and_check()


def status(project: Project) -> dict[str, dict[str, Any]]:
    out = project.ok("status", "--once", "--json", "--interval", "0.2")
    return {track["track"]: track for track in json.loads(out)["tracks"]}


def set_source(project: Project, old: str, new: str) -> None:
    text = project.manifest.read_text()
    assert f"source: {old}\n" in text
    project.manifest.write_text(text.replace(f"source: {old}\n", f"source: {new}\n"))


def test_the_gate_judges_the_canary_by_promql_from_a_real_prometheus(
    prom_project: tuple[Project, int], prometheus_bin: str, tmp_path: Path
) -> None:
    project, prom_port = prom_project
    project.ok("deploy")
    project.ok("promote", "canary")
    # No Prometheus yet: the gate asks it and nothing else, and fails closed.
    unanswered = project.run("promote", "stable", "--window", "5")
    assert unanswered.returncode == 1, unanswered.stdout + unanswered.stderr
    assert f"Prometheus at http://127.0.0.1:{prom_port} did not answer" in unanswered.stderr
    assert project.state()["canary"] is not None

    collector_port = (project.root / ".swiftdeploy/collector/collector.port").read_text().strip()
    target = f"127.0.0.1:{collector_port}"
    (tmp_path / "prom").mkdir()
    with prometheus(tmp_path / "prom", prometheus_bin, target, port=prom_port):
        project.ok("chaos", "error", "--rate", "0.5")
        with Load(project.port, threads=2) as load:
            # Steady traffic: every series exists before the window starts and every second
            # of it is scraped, so both sources read the same stream (their windows end a
            # CLI run apart).
            time.sleep(STATUS_WINDOW + 3)
            theirs = status(project)["canary"]
            set_source(project, "prometheus", "proxy")
            ours = status(project)["canary"]
            set_source(project, "proxy", "prometheus")
            refused = project.run("promote", "stable", "--window", "5")
        assert ours["available"], ours
        assert theirs["available"], theirs
        assert ours["req_per_s"] > 20, ours
        assert theirs["req_per_s"] == pytest.approx(ours["req_per_s"], rel=0.15)
        assert 0.3 < ours["error_rate"] < 0.7
        assert theirs["error_rate"] == pytest.approx(ours["error_rate"], abs=0.05)
        assert theirs["p99_ms"] == pytest.approx(ours["p99_ms"], rel=0.15)

        assert load.total >= 100
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"by PromQL from http://127.0.0.1:{prom_port}" in refused.stdout
        assert "[DENY] Error rate" in refused.stdout
        assert "exceeds maximum 1.00%" in refused.stdout
        assert project.state()["canary"] is not None

        project.ok("chaos", "recover")
        with Load(project.port, threads=2) as load:
            time.sleep(7)  # a clean window passes first
            promoted = project.run("promote", "stable", "--window", "5")
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        assert load.failures == 0, (load.statuses, load.errors[:3])
    assert project.state()["canary"] is None
