"""`benchmarks/run --smoke` runs a tiny version of every benchmark and writes every section.

Benchmarks are not tests: nothing here looks at a figure, only that each benchmark still
runs end to end (real nginx, wrk, hyperfine, OPA) and writes its section of the doc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "## Demo service throughput",
    "## Policy decision latency",
    "## CLI start-up: --help and init",
    "## Audit at scale",
    "## Promote under load",
    "## Progressive rollout timing",
    "## Dashboard: first render and CPU per viewer",
    "## Data-plane collector",
    "## Track attribution across a switch",
    "## Promote stable with a measured window",
]


def test_smoke_run_writes_every_section(tmp_path: Path, nginx_bin: str, opa_bin: str) -> None:
    for tool in ("wrk", "hyperfine", "chromium"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    doc = tmp_path / "benchmarks.md"
    env = dict(
        os.environ,
        SWIFTDEPLOY_BENCH_PYTHON=sys.executable,
        SWIFTDEPLOY_NGINX=nginx_bin,
        SWIFTDEPLOY_OPA=opa_bin,
        NO_COLOR="1",
    )
    result = subprocess.run(
        [str(ROOT / "benchmarks" / "run"), "--smoke", "--doc", str(doc)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    for heading in SECTIONS:
        assert text.count(f"\n{heading}\n") == 1, heading
