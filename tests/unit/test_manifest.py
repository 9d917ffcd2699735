"""Manifest loading: valid and invalid manifests with their exact messages, hostile inputs."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from seed_support import SEED
from swiftdeploy.errors import ExitCode, ManifestError
from swiftdeploy.manifest import (
    Manifest,
    load_manifest,
    manifest_digest,
    parse_manifest,
    schema,
    schema_text,
)

REPO = Path(__file__).resolve().parents[2]


def problems_of(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ManifestError) as info:
        parse_manifest(data, "manifest.yaml")
    assert info.value.exit_code == ExitCode.USAGE
    return info.value.problems


def with_service(block: str) -> str:
    """The seed with `block` added to its services section (from line 7 on)."""
    version = '  version: "1.0.0"\n'
    return SEED.replace(version, version + block)


def test_seed_manifest_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(SEED)
    manifest = load_manifest(path)
    assert manifest.services.name == "app"
    assert manifest.services.port == 3000
    assert manifest.services.mode == "stable"
    assert manifest.nginx.contact == "ops@swiftdeploy.local"
    assert manifest.runtime == "local"
    assert manifest.policy.engine == "embedded"
    assert manifest.policy.on_unavailable == "deny"
    assert manifest.policy.timeout_s == 2.0
    assert manifest.policy.opa_port == 8181
    assert manifest.canary.weight == 100
    assert manifest.canary.window_s == 30
    assert manifest.chaos.auth == "token"
    assert manifest.local.command is None
    health = manifest.services.health
    assert (health.path, health.status, health.timeout) == ("/healthz", "200-399", 2.0)
    assert (health.interval, health.start_timeout) == (2.0, 60.0)
    assert manifest.services.env == {}


def test_manifest_is_frozen() -> None:
    manifest = parse_manifest(SEED.encode())
    with pytest.raises(ValueError, match="frozen"):
        manifest.services.port = 1


VALID = [
    ("name defaults to app", SEED.replace("  name: app\n", ""), lambda m: m.services.name == "app"),
    (
        "canary mode",
        SEED.replace("mode: stable", "mode: canary"),
        lambda m: m.services.mode == "canary",
    ),
    (
        "registry with port and digest",
        SEED.replace(
            "swift-deploy-1-node:latest",
            "registry.example.com:5000/team/app:1.2@sha256:" + "a" * 64,
        ),
        lambda m: m.services.image.startswith("registry.example.com:5000/"),
    ),
    ("version with build metadata", SEED.replace('"1.0.0"', '"1.0.0-rc.1+b7"'), lambda m: True),
    (
        "every optional section",
        SEED + "runtime: compose\npolicy:\n  engine: opa\n  on_unavailable: allow\n  timeout_s: 1\n"
        "  opa_port: 9181\ncanary:\n  weight: 25\n  window_s: 60\nchaos:\n  auth: none\n"
        "local:\n  command: [python, -m, myapp]\n",
        lambda m: (
            m.runtime == "compose"
            and m.policy.opa_port == 9181
            and m.policy.timeout_s == 1.0
            and m.canary.weight == 25
            and m.local.command == ["python", "-m", "myapp"]
        ),
    ),
    ("ports at the bounds", SEED.replace("3000", "1").replace("8080", "65535"), lambda m: True),
    (
        "proxy_timeout at the top",
        SEED.replace("proxy_timeout: 30", "proxy_timeout: 3600"),
        lambda m: True,
    ),
    (
        "contact url",
        SEED.replace(
            "  proxy_timeout: 30\n", "  proxy_timeout: 30\n  contact: https://ops.example/x\n"
        ),
        lambda m: m.nginx.contact == "https://ops.example/x",
    ),
]


VALID += [
    (
        "services.health in every form",
        with_service(
            "  health:\n    path: /ready?full=1\n    status: 204\n    timeout: 500ms\n"
            "    interval: 1m\n    start_timeout: 90\n"
        ),
        lambda m: (
            m.services.health.model_dump()
            == {
                "path": "/ready?full=1",
                "status": "204",
                "timeout": 0.5,
                "interval": 60.0,
                "start_timeout": 90.0,
            }
            and m.services.health.accepts(204)
            and not m.services.health.accepts(200)
        ),
    ),
    (
        "a status range",
        with_service('  health:\n    status: "200-299"\n'),
        lambda m: m.services.health.accepts(299) and not m.services.health.accepts(300),
    ),
    (
        "services.env values are any one-line text",
        with_service('  env:\n    DATABASE_URL: "postgres://u:p@db/x?a=$b"\n    _X1: ""\n'),
        lambda m: m.services.env == {"DATABASE_URL": "postgres://u:p@db/x?a=$b", "_X1": ""},
    ),
]


@pytest.mark.parametrize(("label", "text", "check"), VALID, ids=[v[0] for v in VALID])
def test_valid_manifests(label: str, text: str, check: object) -> None:
    manifest = parse_manifest(text.encode())
    assert callable(check)
    assert check(manifest)


INVALID = [
    (
        "port too high",
        SEED.replace("port: 3000", "port: 70000"),
        ["manifest.yaml:4:9: services.port: must be ≤ 65535 (got 70000)"],
    ),
    (
        "port zero",
        SEED.replace("port: 8080", "port: 0"),
        ["manifest.yaml:9:9: nginx.port: must be ≥ 1 (got 0)"],
    ),
    (
        "port as a string",
        SEED.replace("port: 3000", 'port: "3000"'),
        ["manifest.yaml:4:9: services.port: must be a whole number (got '3000')"],
    ),
    (
        "unknown mode",
        SEED.replace("mode: stable", "mode: blue"),
        ["manifest.yaml:5:9: services.mode: must be one of 'stable' or 'canary' (got 'blue')"],
    ),
    (
        "unquoted version",
        SEED.replace('"1.0.0"', "1.0"),
        ["manifest.yaml:6:12: services.version: must be a string (got 1.0); quote it"],
    ),
    (
        "version that would inject",
        SEED.replace('"1.0.0"', '"1.0; rm -rf /"'),
        [
            "manifest.yaml:6:12: services.version: not a valid version "
            "([A-Za-z0-9][A-Za-z0-9._+-]*) (got '1.0; rm -rf /')"
        ],
    ),
    (
        "empty version",
        SEED.replace('"1.0.0"', '""'),
        [
            "manifest.yaml:6:12: services.version: not a valid version "
            "([A-Za-z0-9][A-Za-z0-9._+-]*) (got '')"
        ],
    ),
    (
        "bad image",
        SEED.replace("swift-deploy-1-node:latest", '"Bad Image"'),
        [
            "manifest.yaml:3:10: services.image: "
            "not a valid Docker image reference (got 'Bad Image')"
        ],
    ),
    (
        "bad name",
        SEED.replace("name: app", "name: -app"),
        [
            "manifest.yaml:2:9: services.name: not a valid name ([A-Za-z0-9][A-Za-z0-9_.-]*) "
            "(got '-app')"
        ],
    ),
    (
        "reserved service name",
        SEED.replace("name: app", "name: nginx"),
        ["manifest.yaml:2:9: services.name: 'nginx' is reserved for SwiftDeploy's own use"],
    ),
    (
        "reserved network name",
        SEED.replace("name: swiftdeploy-net", "name: opa-net"),
        ["manifest.yaml:12:9: network.name: 'opa-net' is reserved for SwiftDeploy's own use"],
    ),
    (
        "proxy_timeout zero",
        SEED.replace("proxy_timeout: 30", "proxy_timeout: 0"),
        ["manifest.yaml:10:18: nginx.proxy_timeout: must be ≥ 1 (got 0)"],
    ),
    (
        "proxy_timeout too long",
        SEED.replace("proxy_timeout: 30", "proxy_timeout: 3601"),
        ["manifest.yaml:10:18: nginx.proxy_timeout: must be ≤ 3600 (got 3601)"],
    ),
    (
        "contact that would inject",
        SEED.replace("  proxy_timeout: 30\n", '  proxy_timeout: 30\n  contact: "a\'; evil"\n'),
        [
            "manifest.yaml:11:12: nginx.contact: not a valid contact (an e-mail address or URL) "
            '(got "a\'; evil")'
        ],
    ),
    (
        "unknown key with a hint",
        SEED.replace("  port: 3000\n", "  port: 3000\n  prot: 1\n"),
        ["manifest.yaml:5:3: services.prot: unknown field (did you mean 'port'?)"],
    ),
    (
        "unknown section with a hint",
        SEED + "polcy:\n  engine: opa\n",
        ["manifest.yaml:14:1: polcy: unknown field (did you mean 'policy'?)"],
    ),
    (
        "unknown key without a hint",
        SEED + "zzz: 1\n",
        ["manifest.yaml:14:1: zzz: unknown field"],
    ),
    (
        "missing field points at its section",
        SEED.replace("  port: 8080\n", ""),
        ["manifest.yaml:7:1: nginx.port: required field missing"],
    ),
    (
        "missing section",
        SEED.split("network:", maxsplit=1)[0],
        ["manifest.yaml:1:1: network: required field missing"],
    ),
    (
        "section that is not a mapping",
        SEED.replace("network:\n  name: swiftdeploy-net\n  driver_type: bridge\n", "network: 3\n"),
        ["manifest.yaml:11:10: network: must be a mapping (got 3)"],
    ),
    (
        "optional enums",
        SEED + "runtime: k8s\npolicy:\n  on_unavailable: maybe\n",
        [
            "manifest.yaml:14:10: runtime: "
            "must be one of 'local', 'compose' or 'swarm' (got 'k8s')",
            "manifest.yaml:16:19: policy.on_unavailable: "
            "must be one of 'deny' or 'allow' (got 'maybe')",
        ],
    ),
    (
        "canary weight out of range",
        SEED + "canary:\n  weight: 101\n",
        ["manifest.yaml:15:11: canary.weight: must be ≤ 100 (got 101)"],
    ),
    (
        "empty local command",
        SEED + "local:\n  command: []\n",
        ["manifest.yaml:15:12: local.command: must not be empty (got a list)"],
    ),
    (
        "boolean is not a port",
        SEED.replace("port: 3000", "port: true"),
        ["manifest.yaml:4:9: services.port: must be a whole number (got true)"],
    ),
    (
        "all errors at once, in file order",
        SEED.replace("port: 3000", "port: 70000")
        .replace("mode: stable", "mode: x")
        .replace("port: 8080", "port: -1"),
        [
            "manifest.yaml:4:9: services.port: must be ≤ 65535 (got 70000)",
            "manifest.yaml:5:9: services.mode: must be one of 'stable' or 'canary' (got 'x')",
            "manifest.yaml:9:9: nginx.port: must be ≥ 1 (got -1)",
        ],
    ),
]


INVALID += [
    (
        "health path without a slash",
        with_service("  health:\n    path: healthz\n"),
        [
            "manifest.yaml:8:11: services.health.path: "
            "not a health path (/ then URL path characters) (got 'healthz')"
        ],
    ),
    (
        "health path that would break out of the probe",
        with_service('  health:\n    path: "/x\'); import os"\n'),
        [
            "manifest.yaml:8:11: services.health.path: "
            'not a health path (/ then URL path characters) (got "/x\'); import os")'
        ],
    ),
    (
        "health path too long",
        with_service("  health:\n    path: /" + "a" * 256 + "\n"),
        ["manifest.yaml:8:11: services.health.path: health path is longer than 256 characters"],
    ),
    (
        "bad statuses",
        with_service('  health:\n    status: "2xx"\n    timeout: 0\n'),
        [
            "manifest.yaml:8:13: services.health.status: "
            "not an HTTP status or range such as 200 or 200-399 (got '2xx')",
            "manifest.yaml:9:14: services.health.timeout: must be ≥ 0.1 (got 0)",
        ],
    ),
    (
        "status out of HTTP's range",
        with_service("  health:\n    status: 600\n"),
        [
            "manifest.yaml:8:13: services.health.status: "
            "not an HTTP status or range such as 200 or 200-399 (got '600')"
        ],
    ),
    (
        "backwards status range",
        with_service('  health:\n    status: "399-200"\n'),
        [
            "manifest.yaml:8:13: services.health.status: "
            "a status range runs from low to high (got '399-200')"
        ],
    ),
    (
        "bad health durations and an unknown key",
        with_service(
            "  health:\n    timeout: 61\n    interval: soon\n    start_timeout: 500ms\n"
            "    retries: 3\n"
        ),
        [
            "manifest.yaml:8:14: services.health.timeout: must be ≤ 60 (got 61)",
            "manifest.yaml:9:15: services.health.interval: "
            "not a duration such as 30s, 2m or 500ms (got 'soon')",
            "manifest.yaml:10:20: services.health.start_timeout: must be ≥ 1 (got '500ms')",
            "manifest.yaml:11:5: services.health.retries: unknown field",
        ],
    ),
    (
        "health that is not a mapping",
        with_service("  health: /healthz\n"),
        ["manifest.yaml:7:11: services.health: must be a mapping (got '/healthz')"],
    ),
    (
        "env names: invalid, reserved, reserved prefix, not text",
        with_service('  env:\n    lower: "x"\n    MODE: "y"\n    SWIFTDEPLOY_X: "z"\n    1: "q"\n'),
        [
            "manifest.yaml:8:5: services.env.lower: "
            "not a valid environment variable name ([A-Z_][A-Z0-9_]*) (got 'lower')",
            "manifest.yaml:9:5: services.env.MODE: 'MODE' is set by SwiftDeploy itself",
            "manifest.yaml:10:5: services.env.SWIFTDEPLOY_X: "
            "'SWIFTDEPLOY_X' is set by SwiftDeploy itself",
            "manifest.yaml:11:5: services.env.1: must be a string (got 1); quote it",
        ],
    ),
    (
        "env values: a number, a newline, NUL, too long",
        with_service(
            '  env:\n    PORT: 8080\n    A: "one\\ntwo"\n    B: "\\0"\n    C: "'
            + "x" * 4097
            + '"\n'
        ),
        [
            "manifest.yaml:8:11: services.env.PORT: must be a string (got 8080); quote it",
            "manifest.yaml:9:8: services.env.A: "
            "environment value must be one line (no NUL, CR or LF)",
            "manifest.yaml:10:8: services.env.B: "
            "environment value must be one line (no NUL, CR or LF)",
            "manifest.yaml:11:8: services.env.C: environment value is longer than 4096 characters",
        ],
    ),
    (
        "env that is not a mapping",
        with_service("  env: [A=1]\n"),
        ["manifest.yaml:7:8: services.env: must be a mapping (got a list)"],
    ),
]


@pytest.mark.parametrize(("label", "text", "expected"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_manifests_name_the_place(label: str, text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


HOSTILE = [
    ("empty", b"", "manifest.yaml: the manifest is empty"),
    ("only a comment", b"# nothing here\n", "manifest.yaml: the manifest is empty"),
    (
        "invalid yaml",
        b"services: [\n",
        "manifest.yaml:2:1: invalid YAML: did not find expected node content",
    ),
    (
        "not a mapping",
        b"- a\n- b\n",
        "manifest.yaml:1:1: the manifest must be a mapping of sections",
    ),
    ("binary", bytes(range(256)) * 4, "manifest.yaml: not a text file (contains NUL bytes)"),
    ("not utf-8", b"services: \xff\xfe\n", "manifest.yaml: not a text file (not valid UTF-8)"),
    (
        "billion laughs",
        b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(8)
        ),
        "manifest.yaml:1:4: YAML anchors and aliases are not allowed",
    ),
    ("deep nesting", b"[" * 200_000, "manifest.yaml:1:33: nested deeper than 32 levels"),
    (
        "duplicate key",
        (SEED + "services: {}\n").encode(),
        "manifest.yaml:14:1: services: duplicate key",
    ),
    (
        "duplicate key with a newline in it",
        b'services:\n  "a\\nb": 1\n  "a\\nb": 2\n',
        "manifest.yaml:3:3: services.a\\nb: duplicate key",
    ),
    (
        "huge integer under a key with a newline",
        b'services:\n  "a\\nb": ' + b"9" * 5000 + b"\n",
        "manifest.yaml:2:11: services.a\\nb: a number with too many digits (5000)",
    ),
]


@pytest.mark.parametrize(("label", "data", "expected"), HOSTILE, ids=[v[0] for v in HOSTILE])
def test_hostile_inputs_fail_fast_with_one_line(label: str, data: bytes, expected: str) -> None:
    started = time.perf_counter()
    assert problems_of(data) == [expected]
    assert time.perf_counter() - started < 1.0


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.problems == [f"{path}: manifest not found"]
    assert info.value.hint is not None
    assert "swiftdeploy init" in info.value.hint


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is a directory"):
        load_manifest(tmp_path)


def test_file_over_one_mib_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(b"#" * (1024 * 1024 + 1))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.problems == [f"{path}: file is larger than 1 MiB (1048577 bytes)"]


def test_errors_carry_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(SEED.replace("port: 3000", "port: 70000"))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.problems == [f"{path}:4:9: services.port: must be ≤ 65535 (got 70000)"]


def test_digest_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(SEED)
    assert manifest_digest(path) == hashlib.sha256(SEED.encode()).hexdigest()


def test_shipped_schema_matches_the_models() -> None:
    shipped = (REPO / "manifest.schema.json").read_text()
    assert shipped == schema_text(), "run scripts/regen-golden"


def test_schema_accepts_the_seed_and_rejects_unknown_keys() -> None:
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    validator = jsonschema.Draft202012Validator(document)
    validator.validate(yaml.safe_load(SEED))
    bad = yaml.safe_load(SEED)
    bad["services"]["prot"] = 1
    assert not validator.is_valid(bad)
    assert json.loads(schema_text()) == document


def test_schema_checks_the_service_health_and_env() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    good = yaml.safe_load(
        with_service('  health: {path: /, status: "200-299", timeout: 1s}\n  env: {A_B: "1"}\n')
    )
    validator.validate(good)
    for services in (
        {"env": {"MODE": "x"}},
        {"env": {"SWIFTDEPLOY_STABLE_VERSION": "x"}},
        {"env": {"lower": "x"}},
        {"env": {"A": "one\ntwo"}},
        {"health": {"path": "healthz"}},
        {"health": {"status": "2xx"}},
        {"health": {"timeout": 0}},
    ):
        bad = yaml.safe_load(SEED)
        bad["services"].update(services)
        assert not validator.is_valid(bad), services


def test_schema_defaults_match_the_models() -> None:
    props = schema()["$defs"]
    assert props["PolicySpec"]["properties"]["opa_port"]["default"] == 8181
    assert Manifest.model_fields["runtime"].default == "local"


def test_opa_port_cannot_be_the_nginx_port() -> None:
    text = SEED_TEXT_FOR_PORTS.replace("opa_port: 8181", "opa_port: 8080")
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode())
    assert any("policy.opa_port" in p and "nginx.port" in p for p in info.value.problems)
    assert parse_manifest(SEED_TEXT_FOR_PORTS.encode()).policy.opa_port == 8181


SEED_TEXT_FOR_PORTS = """\
services: {image: "a:1", port: 3000, mode: stable, version: "1.0.0"}
nginx: {image: "nginx:latest", port: 8080, proxy_timeout: 30}
network: {name: n, driver_type: bridge}
policy: {engine: opa, opa_port: 8181}
"""


def test_check_field_checks_a_field_whose_rules_live_in_its_own_annotation() -> None:
    from swiftdeploy.manifest import check_field

    assert check_field("local.command", ["./server", "{socket}"]) == ["./server", "{socket}"]
    assert check_field("services.version", "1.1.0") == "1.1.0"
    with pytest.raises(ValueError, match="at least 1 item"):
        check_field("local.command", [])
    with pytest.raises(ValueError, match=r"local\.command rule"):
        check_field("local.command", ["nul\x00byte"])
