"""`swiftdeploy policy test`: OPA's verdict passed through, the exit code, one error line.

The project's own policies/ folder holds one small test file, so the output does not
change each time a shipped policy gains a test (tests/unit/test_policy_cli.py runs those).
"""

from __future__ import annotations

import re
import shutil
from textwrap import dedent

from cli_support import Cli

PASSING = """\
test_one_is_one if {
	1 == 1
}
"""
FAILING = """\
test_one_is_two if {
	1 == 2
}
"""
RULE = "-" * 80


def _policies(cli: Cli, rules: str) -> None:
    shutil.rmtree(cli.root / "policies")
    folder = cli.root / "policies" / "gate"
    folder.mkdir(parents=True)
    (folder / "gate_test.rego").write_text(f"package gate_test\n\nimport rego.v1\n\n{rules}")


def _trace(text: str) -> str:
    """OPA's trace shows each location cut to a width (`/tmp/...ure_exits0/policies/...`) and
    padded to the longest one, both of which follow the temp path's length: make the cut
    path `<project>` and the padding (and the blanks OPA leaves at line ends) one space."""
    text = re.sub(r"(?m)^  \S*(/policies/gate/)", r"  <project>\1", text)
    return re.sub(r"(?m)^(  \S+) +(.*?) *$", r"\1 \2", text)


def test_policy_test_passes(cli: Cli, opa_bin: str) -> None:
    cli.seed()
    _policies(cli, PASSING)
    cli.env["SWIFTDEPLOY_OPA"] = opa_bin
    report = dedent(f"""\
        <project>/policies/gate/gate_test.rego:5:
        data.gate_test.test_one_is_one: PASS (<duration>)
        {RULE}
        PASS: 1/1
    """)
    assert cli("policy", "test") == (0, report, "")


def test_policy_test_failure_exits_1_after_opas_report(cli: Cli, opa_bin: str) -> None:
    cli.seed()
    _policies(cli, FAILING)
    cli.env["SWIFTDEPLOY_OPA"] = opa_bin
    result = cli("policy", "test")
    report = dedent(f"""\
        <project>/policies/gate/gate_test.rego:5:
        data.gate_test.test_one_is_two: FAIL (<duration>)
        {RULE}
        FAILURES
        {RULE}
        data.gate_test.test_one_is_two: FAIL (<duration>)

          query:1 Enter data.gate_test.test_one_is_two = _
          <project>/policies/gate/gate_test.rego:5 | Enter data.gate_test.test_one_is_two
          <project>/policies/gate/gate_test.rego:6 | | Fail 1 = 2
          query:1 | Fail data.gate_test.test_one_is_two = _

        {RULE}
        FAIL: 1/1
    """)
    error = "error: policy tests failed in <project>/policies\n"
    assert (result.code, _trace(result.stdout), result.stderr) == (1, report, error)
