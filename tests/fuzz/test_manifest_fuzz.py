"""Fuzzed manifests: `init` and `validate` never crash and never leave a partial file.

The core functions run in-process (about 1,000 cases each under the default "ci" profile,
10,000+ with `--hypothesis-profile deep`); a handful go through the real CLI as well.
Every refusal must be a ManifestError (the CLI's one-line message and exit 2), never
another exception, and a refused `init` writes nothing beside the manifest.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cli_support import run_cli
from seed_support import seed_data
from swiftdeploy import validate as validate_module
from swiftdeploy.errors import ManifestError
from swiftdeploy.init import init_project
from swiftdeploy.manifest import load_manifest
from swiftdeploy.runtime import container_checks
from swiftdeploy.runtime.local import preflight as local_preflight
from swiftdeploy.validate import CheckResult, validate

SEED: dict[str, Any] = {
    **seed_data(),
    "runtime": "local",
    "policy": {"engine": "embedded", "on_unavailable": "deny", "timeout_s": 2, "opa_port": 8181},
    "canary": {"weight": 100, "window_s": 30},
    "chaos": {"auth": "token"},
}
FIELDS = [
    (section, key) for section, body in SEED.items() if isinstance(body, dict) for key in body
]
HOSTILE_TEXT = [
    "\n",
    ";",
    "{",
    "}",
    "$host",
    '"',
    "'",
    "{{ 7*7 }}",
    "{% raw %}",
    "x; include /etc/passwd;",
    "a\n}\nserver {",
    "a: b",
    "- x",
    "&a",
    "*a",
    "!!python/object:os.system",
    "\x00",
    "\u2028",
    "",
    " ",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from(["app", "1.0.0", "nginx:latest"]),
        st.sampled_from(HOSTILE_TEXT),
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """The seed with a few fields replaced, removed or added; sometimes not a mapping at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(values)
    document = {
        section: dict(body) if isinstance(body, dict) else body for section, body in SEED.items()
    }
    for _ in range(draw(st.integers(1, 4))):
        section, key = draw(st.sampled_from(FIELDS))
        action = draw(
            st.sampled_from(["replace", "replace", "replace", "delete", "add", "section"])
        )
        body = document.get(section)
        if action == "section":
            document[section] = draw(values)
        elif not isinstance(body, dict):
            continue
        elif action == "replace":
            body[key] = draw(values)
        elif action == "delete":
            body.pop(key, None)
        else:
            body[draw(st.text(max_size=10))] = draw(values)
    if draw(st.booleans()):
        document["local"] = {"command": draw(st.lists(st.text(max_size=10), max_size=3))}
    return document


@st.composite
def manifest_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:  # the seed's text with a few bytes spliced in
        text = yaml.safe_dump(SEED, sort_keys=False).encode()
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
        return text
    document = draw(mutated_documents())
    try:
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=draw(st.booleans())).encode()
    except (yaml.YAMLError, ValueError):
        return b"services: {}\n"


_counter = itertools.count()


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Any:
    def make() -> Path:
        folder = tmp_path / f"case-{next(_counter)}"
        folder.mkdir()
        return folder

    return make


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@given(data=manifest_bytes())
def test_init_refuses_cleanly_or_renders_everything(fresh_dir: Any, data: bytes) -> None:
    folder = fresh_dir()
    manifest = folder / "manifest.yaml"
    manifest.write_bytes(data)
    try:
        result = init_project(manifest)
    except ManifestError as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:
        assert all("\n" not in problem for problem in problems), problems
        assert _files(folder) == {"manifest.yaml"}, "a refused init wrote something"
        assert manifest.read_bytes() == data
        return
    written = _files(folder)
    assert {"manifest.yaml", "nginx.conf", "docker-compose.yml", "policies"} <= written
    assert not [name for name in written if name.endswith(".tmp")]
    assert result.generated
    assert yaml.safe_load((folder / "docker-compose.yml").read_text())["services"]
    load_manifest(manifest)  # what init accepted, every other command accepts


def _no_nginx(manifest: Any) -> CheckResult:
    return CheckResult("nginx", True, "stubbed: nginx -t runs in tests/integration")


@given(data=manifest_bytes())
def test_validate_reports_five_checks_and_never_raises(
    fresh_dir: Any, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_preflight, "check_nginx", _no_nginx)
    monkeypatch.setattr(container_checks, "check_nginx_in_image", _no_nginx)
    monkeypatch.setattr(
        validate_module, "check_port", lambda port: CheckResult("port", True, "stubbed")
    )
    folder = fresh_dir()
    manifest = folder / "manifest.yaml"
    manifest.write_bytes(data)
    results = validate(manifest)
    assert [r.name for r in results] == ["manifest", "fields", "image", "port", "nginx"]
    assert all(r.message and "\n" not in r.message for r in results), (data, results)
    assert _files(folder) == {"manifest.yaml"}, "validate must not write beside the manifest"


# --- hostile files: refused, fast, with one line --------------------------------------------

BOMB = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
    for i in range(8)
)


def _hundred_mb(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: costs no disk, still 100 MB to a reader


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00")


def _seed_with(old: bytes, new: bytes) -> Any:
    text = yaml.safe_dump(SEED, sort_keys=False).encode()
    return lambda path: path.write_bytes(text.replace(old, new, 1))


HOSTILE_FILES = {
    "billion-laughs": lambda path: path.write_bytes(BOMB),
    "100MB": _hundred_mb,
    "binary": _garbage,
    "deep-nesting": lambda path: path.write_bytes(b"[" * 500_000),
    "fifo": os.mkfifo,
    "dev-zero": lambda path: path.symlink_to("/dev/zero"),
    "dev-urandom": lambda path: path.symlink_to("/dev/urandom"),
    "dangling-symlink": lambda path: path.symlink_to(path.with_name("missing.yaml")),
    "symlink-loop": lambda path: path.symlink_to(path),
    "huge-int": _seed_with(b"port: 8080", b"port: " + b"9" * 5000),
    "huge-hex": _seed_with(b"port: 8080", b"port: 0x" + b"f" * 5000),
    "huge-weight": _seed_with(b"weight: 100", b"weight: " + b"1" * 5000),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_file_is_refused_in_process_within_a_second(tmp_path: Path, kind: str) -> None:
    manifest = tmp_path / "manifest.yaml"
    HOSTILE_FILES[kind](manifest)
    started = time.perf_counter()
    with pytest.raises(ManifestError) as info:
        init_project(manifest)
    results = validate(manifest)
    # Refusing without expanding or reading the whole file is the property: a bound,
    # generous for a busy CI host, not a speed target.
    assert time.perf_counter() - started < 1.0
    assert len(info.value.problems) == 1
    assert results[0].passed is False
    assert _files(tmp_path) == {"manifest.yaml"}


CLI_CASES = {
    **HOSTILE_FILES,
    "injected-name": lambda path: path.write_text(
        yaml.safe_dump({**SEED, "services": {**SEED["services"], "name": "a;\n}\nserver {"}})
    ),
    "port-as-text": lambda path: path.write_text(
        yaml.safe_dump({**SEED, "nginx": {**SEED["nginx"], "port": "8080; listen 80"}})
    ),
    "unknown-section": lambda path: path.write_text(yaml.safe_dump({**SEED, "{{x}}": 1})),
}


@pytest.mark.parametrize("kind", sorted(CLI_CASES))
def test_cli_refuses_hostile_manifests_without_a_traceback(tmp_path: Path, kind: str) -> None:
    manifest = tmp_path / "manifest.yaml"
    CLI_CASES[kind](manifest)
    init = run_cli("-f", str(manifest), "init", cwd=tmp_path)
    assert init.returncode == 2, init.stderr
    assert "Traceback" not in init.stderr + init.stdout
    assert init.stderr.startswith("error: "), init.stderr
    check = run_cli("-f", str(manifest), "validate", "--json", cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert "Traceback" not in check.stderr + check.stdout
    assert _files(tmp_path) == {"manifest.yaml"}
