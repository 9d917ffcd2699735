"""`swiftdeploy audit --verify` and `--head`: the hash chain's verdict, in text and JSON."""

from __future__ import annotations

import json
from textwrap import dedent

from cli_support import Cli
from swiftdeploy.history import History


def _three_events(cli: Cli) -> str:
    """Append three events; return the last one's hash (the chain head)."""
    history = History(cli.root / "history.jsonl")
    events = [history.append("deploy", {"n": n}) for n in range(3)]
    head: str = events[-1]["hash"]
    return head


def test_a_fresh_history_verifies_empty(cli: Cli) -> None:
    cli.seed()
    assert cli("audit", "--verify") == (0, "history verified: 0 events\n", "")
    result = cli("audit", "--verify", "--format", "json")
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "ok": True, "count": 0, "first_bad_line": None, "problem": ""
    }  # fmt: skip
    assert cli("audit", "--head") == (0, "  the history is empty\n", "")
    assert cli("audit", "--head", "--format", "json") == (0, '{"head": null}\n', "")


def test_an_intact_chain_verifies_against_its_head(cli: Cli) -> None:
    cli.seed()
    head = _three_events(cli)
    assert cli("audit", "--verify") == (0, "history verified: 3 events\n", "")
    assert cli("audit", "--head") == (0, "2:<sha256>\n", "")
    verified = f"history verified: 3 events, including the head 2:{head[:12]}…\n"
    assert cli("audit", "--verify", "--head", f"2:{head}") == (0, verified, "")


def test_an_edited_line_fails_with_where_it_broke(cli: Cli) -> None:
    cli.seed()
    _three_events(cli)
    path = cli.root / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"n":1', '"n":7')
    path.write_text("".join(lines))
    refusal = dedent("""\
        error: history does not verify: history.jsonl line 2: edited (content does not match its hash)
          hint: 1 events before line 2 are intact
    """)  # noqa: E501
    assert cli("audit", "--verify") == (1, "", refusal)

    result = cli("audit", "--verify", "--format", "json")
    assert (result.code, result.stderr) == (1, "")
    assert json.loads(result.stdout) == {
        "ok": False,
        "count": 1,
        "first_bad_line": 2,
        "problem": "line 2: edited (content does not match its hash)",
    }
