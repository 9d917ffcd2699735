"""`swiftdeploy rollback --dry-run` with no canary running: nothing to do, nothing changed."""

from __future__ import annotations

import json

from cli_support import Cli, expected


def test_dry_run_rollback_without_a_canary(cli: Cli) -> None:
    cli.seed()
    plan = expected("""\
        ==> Dry run: rollback (nothing is changed)
          would nothing to roll back: no canary is running
          no file would change
    """)
    assert cli("rollback", "--dry-run") == (0, plan, "")

    result = cli("rollback", "--dry-run", "--json")
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "action": "rollback",
        "dry_run": True,
        "steps": ["nothing to roll back: no canary is running"],
        "diffs": {},
        "policy": {"domain": None, "input": {}, "allow": None, "reasons": [], "unavailable": None},
    }


def test_dry_run_rollback_of_a_canary_manifest_would_set_mode_stable(cli: Cli) -> None:
    cli.seed()
    cli.manifest.write_text(cli.manifest.read_text().replace("mode: stable", "mode: canary"))
    plan = expected("""\
        ==> Dry run: rollback (nothing is changed)
          would nothing to roll back: no canary is running
        ==> manifest.yaml would change
        --- manifest.yaml (now)
        +++ manifest.yaml (after the stable step)
        @@ -2,7 +2,7 @@
           name: app
           image: swift-deploy-1-node:latest
           port: 3000
        -  mode: canary
        +  mode: stable
           version: "1.0.0"
         nginx:
           image: nginx:latest
    """)
    assert cli("rollback", "--dry-run") == (0, plan, "")
