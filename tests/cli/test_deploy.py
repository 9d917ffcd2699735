"""`swiftdeploy deploy --dry-run`: the plan and the infra policy's answer, changing nothing."""

from __future__ import annotations

import json
from typing import Any

from cli_support import Cli, canary_rendering_diffs, demo_artifact, expected

DEMO = demo_artifact("1.0.0")

# The shipped limits judge this (shared, busy) host's load: tests set their own.
ALLOW_ALL = {"min_disk_gb": 0, "max_cpu_load": 1000}
HOST_FACTS = ("cpu_count", "cpu_load", "disk_free_gb", "mem_available_gb")


def _without_host_facts(payload: dict[str, Any]) -> dict[str, Any]:
    """The --json payload with this host's measurements (which change by the second) checked
    for type, then replaced by `<host>`."""
    facts = payload["policy"]["input"]
    assert all(isinstance(facts[key], int | float) for key in HOST_FACTS), facts
    payload["policy"]["input"] = {**facts, **dict.fromkeys(HOST_FACTS, "<host>")}
    return payload


def test_dry_run_plans_a_fresh_deploy(cli: Cli) -> None:
    cli.seed()
    cli.infra_data(ALLOW_ALL)
    plan = expected("""\
        ==> Dry run: deploy (nothing is changed)
          would start stable <demo> and route all traffic to it
          no file would change
        ==> Policy infra would answer
          [PASS] allowed
    """).replace("<demo>", DEMO)
    before = sorted(cli.root.rglob("*"))
    assert cli("deploy", "--dry-run") == (0, plan, "")
    assert sorted(cli.root.rglob("*")) == before  # no state, no history


def test_dry_run_json(cli: Cli) -> None:
    cli.seed()
    cli.infra_data(ALLOW_ALL)
    result = cli("deploy", "--dry-run", "--json")
    assert (result.code, result.stderr) == (0, "")
    assert _without_host_facts(json.loads(result.stdout)) == {
        "action": "deploy",
        "dry_run": True,
        "steps": [f"start stable {DEMO} and route all traffic to it"],
        "diffs": {},
        "policy": {
            "domain": "infra",
            "input": {"action": "deploy", **dict.fromkeys(HOST_FACTS, "<host>")},
            "allow": True,
            "reasons": [],
            "unavailable": None,
        },
    }


def test_dry_run_denied_exits_1_with_the_reason(cli: Cli) -> None:
    cli.seed()
    cli.infra_data({"max_cpu_load": 1000})  # min_disk_gb missing: the gate fails closed
    plan = expected("""\
        ==> Dry run: deploy (nothing is changed)
          would start stable <demo> and route all traffic to it
          no file would change
        ==> Policy infra would answer
          [DENY] Policy data is missing min_disk_gb
    """).replace("<demo>", DEMO)
    assert cli("deploy", "--dry-run") == (1, plan, "")

    result = cli("deploy", "--dry-run", "--json")
    assert (result.code, result.stderr) == (1, "")
    payload = _without_host_facts(json.loads(result.stdout))
    assert payload["policy"] == {
        "domain": "infra",
        "input": {"action": "deploy", **dict.fromkeys(HOST_FACTS, "<host>")},
        "allow": False,
        "reasons": ["Policy data is missing min_disk_gb"],
        "unavailable": None,
    }


def test_dry_run_of_a_canary_manifest_shows_the_rendering_it_would_write(cli: Cli) -> None:
    cli.seed()
    cli.infra_data(ALLOW_ALL)
    cli.manifest.write_text(cli.manifest.read_text().replace("mode: stable", "mode: canary"))
    plan = (
        expected("""\
        ==> Dry run: deploy (nothing is changed)
          would start stable <demo> and route all traffic to it
          would start a canary at 100% of traffic
    """).replace("<demo>", DEMO)
        + canary_rendering_diffs("deploy")
        + expected("""\
        ==> Policy infra would answer
          [PASS] allowed
    """)
    )
    assert cli("deploy", "--dry-run") == (0, plan, "")
