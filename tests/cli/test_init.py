"""`swiftdeploy init` through a real process: the whole output, exit codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from cli_support import Cli, expected

FRESH = dedent("""\
    ==> Initialising
      wrote a starter manifest.yaml (edit it, then run `swiftdeploy init` again)
      generated nginx.conf
      generated docker-compose.yml
      copied the default policies to policies/
""")


def test_init_writes_a_starter_then_renders(cli: Cli) -> None:
    assert cli("init") == (0, FRESH, "")
    assert cli.manifest.is_file()

    unchanged = dedent("""\
        ==> Initialising
          generated nginx.conf (unchanged)
          generated docker-compose.yml (unchanged)
    """)
    assert cli("init") == (0, unchanged, "")


def test_init_check_exits_1_with_a_diff_on_drift(cli: Cli) -> None:
    assert cli("init").code == 0
    clean = dedent("""\
        ==> Checking generated files against the manifest
          [PASS] nginx.conf is up to date
          [PASS] docker-compose.yml is up to date
    """)
    assert cli("init", "--check") == (0, clean, "")

    conf = cli.root / "nginx.conf"
    conf.write_text(conf.read_text().replace("listen 8080;", "listen 9999;"))
    drift = expected("""\
        ==> Checking generated files against the manifest
          [FAIL] nginx.conf differs from its rendering
          [PASS] docker-compose.yml is up to date
        --- nginx.conf (on disk)
        +++ nginx.conf (from manifest)
        @@ -69,7 +69,7 @@
             }
        ␠
             server {
        -        listen 9999;
        +        listen 8080;
                 server_name _;
        ␠
                 # At server level, so nginx's own error pages (502/503/504) are logged too.
          run `swiftdeploy init` to regenerate
    """)
    assert cli("init", "--check") == (1, drift, "")
    assert "listen 9999;" in conf.read_text()  # --check changes nothing

    regenerated = dedent("""\
        ==> Initialising
          generated nginx.conf
          generated docker-compose.yml (unchanged)
    """)
    assert cli("init") == (0, regenerated, "")


def test_invalid_manifest_exits_2_with_every_problem(cli: Cli) -> None:
    assert cli("init").code == 0
    cli.manifest.write_text(
        cli.manifest.read_text()
        .replace("port: 3000", "port: 70000")
        .replace("mode: stable", "mode: x")
    )
    problems = dedent("""\
        error: manifest.yaml:11:9: services.port: must be ≤ 65535 (got 70000)
        error: manifest.yaml:13:9: services.mode: must be one of 'stable' or 'canary' (got 'x')
    """)
    assert cli("init") == (2, "", problems)


def test_hostile_manifests_exit_2_with_one_line(cli: Cli) -> None:
    for data, message in (
        (b"", "<project>/manifest.yaml: the manifest is empty"),
        (b"\x00\x01garbage", "<project>/manifest.yaml: not a text file (contains NUL bytes)"),
        (b"a: &x [1]\nb: *x\n",
         "<project>/manifest.yaml:1:4: YAML anchors and aliases are not allowed"),
        (b"services: [\n",
         "<project>/manifest.yaml:2:1: invalid YAML: did not find expected node content"),
        (b"#" * (2 << 20), "<project>/manifest.yaml: file is larger than 1 MiB (2097152 bytes)"),
    ):  # fmt: skip
        cli.manifest.write_bytes(data)
        assert cli("-f", str(cli.manifest), "init") == (2, "", f"error: {message}\n"), data[:20]


def test_check_without_manifest_exits_2(cli: Cli) -> None:
    assert cli("init", "--check") == (2, "", "error: manifest.yaml: not found\n")
    assert not cli.manifest.exists()


def test_manifest_option_points_at_another_folder(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    assert cli("-f", str(folder / "manifest.yaml"), "init") == (0, FRESH, "")
    assert (folder / "nginx.conf").is_file()
    assert not (tmp_path / "nginx.conf").exists()
