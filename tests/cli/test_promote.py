"""`swiftdeploy promote canary|stable --dry-run`: the plan and the policy's answer, changing
nothing; the refusals that need no running stack."""

from __future__ import annotations

import json
from textwrap import dedent

from cli_support import Cli, canary_rendering_diffs, demo_artifact, expected
from swiftdeploy.artifact import resolve_command

# What promote canary --dry-run prints for the seed project's files.
CANARY_DIFFS = expected("""\
    ==> manifest.yaml would change
    --- manifest.yaml (now)
    +++ manifest.yaml (after the canary step)
    @@ -2,7 +2,7 @@
       name: app
       image: swift-deploy-1-node:latest
       port: 3000
    -  mode: stable
    +  mode: canary
       version: "1.0.0"
     nginx:
       image: nginx:latest
""") + canary_rendering_diffs("canary")


def test_dry_run_promote_canary_shows_every_file_it_would_rewrite(cli: Cli) -> None:
    cli.seed()
    manifest = cli.manifest.read_text()
    plan = expected(
        """\
        ==> Dry run: promote canary (nothing is changed)
          would start canary <demo> beside stable
          would shift traffic to it: [100] %
        """
    ).replace("<demo>", demo_artifact("1.0.0")) + CANARY_DIFFS + expected(
        """\
        ==> Policy canary would answer
          [PASS] allowed
        """
    )  # fmt: skip
    assert cli("promote", "canary", "--dry-run") == (0, plan, "")
    assert cli.manifest.read_text() == manifest
    assert not (cli.root / "history.jsonl").exists()


def test_dry_run_promote_canary_with_a_new_release_shows_the_manifest_values(cli: Cli) -> None:
    cli.seed()
    manifest = cli.manifest.read_text()
    result = cli("promote", "canary", "--dry-run", "--json", "--version", "1.1.0",
                 "--command", "python3 -m http.server '{socket}'")  # fmt: skip
    assert (result.code, result.stderr) == (0, "")
    payload = json.loads(result.stdout)
    runs = resolve_command(["python3", "-m", "http.server", "{socket}"], "1.1.0").describe()
    assert payload["steps"][0] == f"start canary {runs} beside stable"
    assert payload["policy"]["input"]["version"] == "1.1.0"
    changed = [line for line in payload["diffs"]["manifest.yaml"].splitlines()
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]  # fmt: skip
    assert changed == [
        "-  mode: stable",
        '-  version: "1.0.0"',
        "+  mode: canary",
        '+  version: "1.1.0"',  # still quoted, as the operator wrote it
        "+local:",
        "+  command:",
        "+  - python3",
        "+  - -m",
        "+  - http.server",
        '+  - "{socket}"',
    ]
    assert cli.manifest.read_text() == manifest  # a dry run writes nothing


def test_image_and_version_are_for_promote_canary(cli: Cli) -> None:
    cli.seed()
    result = cli("promote", "stable", "--version", "1.1.0")
    assert result.code == 2
    assert "--image, --command and --version apply to 'promote canary'" in result.stderr


def test_each_runtime_takes_only_the_option_for_what_it_runs(cli: Cli) -> None:
    cli.seed()
    manifest = cli.manifest.read_text()
    assert cli("promote", "canary", "--image", "myorg/api:1.1.0") == (
        2,
        "",
        "error: --image does not apply to the local runtime, which runs local.command: "
        "use --command\n",
    )
    assert cli("promote", "canary", "--runtime", "compose", "--command", "./server") == (
        2,
        "",
        "error: --command does not apply to the compose runtime, which runs services.image: "
        "use --image\n",
    )
    assert cli.manifest.read_text() == manifest
    assert not (cli.root / "history.jsonl").exists()


def test_a_command_that_does_not_exist_is_refused_before_anything_changes(cli: Cli) -> None:
    cli.seed()
    manifest = cli.manifest.read_text()
    missing = "error: command no-such-server not found (on PATH, or not executable)\n"
    assert cli("promote", "canary", "--command", "no-such-server --port 1") == (2, "", missing)
    assert cli("promote", "canary", "--dry-run", "--command", "no-such-server") == (
        2,
        "",
        missing,
    )
    assert cli.manifest.read_text() == manifest


def test_a_command_line_that_does_not_split_is_a_usage_error(cli: Cli) -> None:
    cli.seed()
    result = cli("promote", "canary", "--command", "'unclosed")
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--command': No closing quotation in \"'unclosed\""
    )


def test_dry_run_promote_canary_json(cli: Cli) -> None:
    cli.seed()
    result = cli("promote", "canary", "--dry-run", "--json")
    assert (result.code, result.stderr) == (0, "")
    payload = json.loads(result.stdout)
    # The diffs are the ones the text output prints, one per file.
    text = CANARY_DIFFS
    diffs = {name: text.split(f"==> {name} would change\n")[1].split("==> ")[0]
             for name in ("manifest.yaml", "nginx.conf", "docker-compose.yml")}  # fmt: skip
    assert payload == {
        "action": "promote canary",
        "dry_run": True,
        "steps": [
            f"start canary {demo_artifact('1.0.0')} beside stable",
            "shift traffic to it: [100] %",
        ],
        "diffs": diffs,
        "policy": {
            "domain": "canary",
            "input": {"action": "promote", "from": "stable", "to": "canary", "version": "1.0.0"},
            "allow": True,
            "reasons": [],
            "unavailable": None,
        },
    }


def test_dry_run_promote_stable_without_a_canary_is_refused(cli: Cli) -> None:
    cli.seed()
    refusal = dedent("""\
        error: no canary is running
          hint: run 'swiftdeploy promote canary' first
    """)
    assert cli("promote", "stable", "--dry-run") == (2, "", refusal)
    assert cli("promote", "stable", "--dry-run", "--json") == (2, "", refusal)
