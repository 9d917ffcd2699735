"""`swiftdeploy init` and `schema` through a real process: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def swiftdeploy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("SWIFTDEPLOY_MANIFEST", None)
    return subprocess.run(
        [sys.executable, "-m", "swiftdeploy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_writes_a_starter_then_renders(tmp_path: Path) -> None:
    result = swiftdeploy("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "==> Initialising"
    assert "wrote a starter manifest.yaml" in lines[1]
    assert "  generated nginx.conf" in lines
    assert "  generated docker-compose.yml" in lines
    assert (tmp_path / "manifest.yaml").is_file()

    again = swiftdeploy("init", cwd=tmp_path)
    assert again.returncode == 0
    assert "  generated nginx.conf (unchanged)" in again.stdout.splitlines()


def test_init_check_exits_1_with_a_diff_on_drift(tmp_path: Path) -> None:
    assert swiftdeploy("init", cwd=tmp_path).returncode == 0
    clean = swiftdeploy("init", "--check", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "[PASS] nginx.conf is up to date" in clean.stdout

    conf = tmp_path / "nginx.conf"
    conf.write_text(conf.read_text().replace("listen 8080;", "listen 9999;"))
    drift = swiftdeploy("init", "--check", cwd=tmp_path)
    assert drift.returncode == 1
    assert "[FAIL] nginx.conf differs from its rendering" in drift.stdout
    assert "-        listen 9999;\n+        listen 8080;\n" in drift.stdout
    assert "listen 9999;" in conf.read_text()  # --check changes nothing


def test_invalid_manifest_exits_2_without_traceback(tmp_path: Path) -> None:
    assert swiftdeploy("init", cwd=tmp_path).returncode == 0
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        manifest.read_text().replace("port: 3000", "port: 70000").replace("mode: stable", "mode: x")
    )
    result = swiftdeploy("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: manifest.yaml:11:9: services.port: must be ≤ 65535 (got 70000)" in result.stderr
    assert "services.mode: must be one of 'stable' or 'canary' (got 'x')" in result.stderr


def test_hostile_manifests_exit_2_with_one_line(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    for data in (
        b"",
        b"\x00\x01garbage",
        b"a: &x [1]\nb: *x\n",
        b"services: [\n",
        b"#" * (2 << 20),
    ):
        manifest.write_bytes(data)
        result = swiftdeploy("-f", str(manifest), "init", cwd=tmp_path)
        assert result.returncode == 2, data[:20]
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: "), result.stderr
        assert result.stderr.count("error:") == 1


def test_check_without_manifest_exits_2(tmp_path: Path) -> None:
    result = swiftdeploy("init", "--check", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "manifest.yaml").exists()


def test_manifest_option_points_at_another_folder(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    result = swiftdeploy("-f", str(folder / "manifest.yaml"), "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (folder / "nginx.conf").is_file()
    assert not (tmp_path / "nginx.conf").exists()


def test_schema_prints_the_shipped_schema(tmp_path: Path) -> None:
    result = swiftdeploy("schema", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == (REPO / "manifest.schema.json").read_text()
    assert json.loads(result.stdout)["title"] == "SwiftDeploy manifest"
