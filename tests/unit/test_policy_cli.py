"""`swiftdeploy policy eval|test` exit codes, and the decision printer's wording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swiftdeploy.policy.decision import Check, Decision

BIN = [sys.executable, "-m", "swiftdeploy"]


def _eval(
    tmp_path: Path, domain: str, payload: object, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BIN, "-f", str(tmp_path / "manifest.yaml"), "policy", "eval", domain,
         "--input", "-", *extra],
        input=json.dumps(payload), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_eval_allow_exits_0(tmp_path: Path) -> None:
    proc = _eval(tmp_path, "infra", {"disk_free_gb": 50, "cpu_load": 0.5})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["allow"] is True


def test_eval_deny_exits_1(tmp_path: Path) -> None:
    proc = _eval(
        tmp_path, "canary", {"to": "stable", "error_rate": 0.5, "p99_ms": 1, "request_count": 99}
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["reasons"] == ["Error rate 50.00% exceeds maximum 1.00%"]


def test_eval_unavailable_exits_3(tmp_path: Path) -> None:
    from lifecycle_support import free_port

    proc = _eval(tmp_path, "infra", {}, "--engine", "opa", "--port", str(free_port()))
    assert proc.returncode == 3
    assert "policy engine unavailable" in proc.stderr


def test_eval_uses_project_policies(tmp_path: Path) -> None:
    import shutil

    from swiftdeploy.policy.sources import defaults_dir

    shutil.copytree(defaults_dir(), tmp_path / "policies")
    (tmp_path / "policies" / "infra" / "data.json").write_text(
        '{"min_disk_gb": 100, "max_cpu_load": 2}'
    )
    proc = _eval(tmp_path, "infra", {"disk_free_gb": 50, "cpu_load": 0.5})
    assert proc.returncode == 1
    assert "below minimum 100GB" in proc.stdout


def test_policy_test_runs_opa(tmp_path: Path, opa_bin: str) -> None:
    proc = subprocess.run(
        [*BIN, "-f", str(tmp_path / "manifest.yaml"), "policy", "test"],
        capture_output=True, text=True, check=False, timeout=120,
        env={"SWIFTDEPLOY_OPA": opa_bin, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout


def _decision(allow: bool, deny: list[str], **kw: object) -> Decision:
    return Decision(domain="infra", allow=allow, deny=deny, checks={"disk_free": Check(allow, "x")},
                    input={"disk_free_gb": 107.0, "cpu_load": 0.8}, **kw)  # type: ignore[arg-type]  # fmt: skip


def _print(decision: Decision, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a gate tells the console: the question, then the answer (cli/policy_output words)."""
    monkeypatch.setenv("NO_COLOR", "1")
    from swiftdeploy.cli import console as console_mod
    from swiftdeploy.policy.events import Checking, Decided

    console_mod.console.cache_clear()
    console_mod.console().policy(Checking(decision.domain, decision.input))
    console_mod.console().policy(Decided(decision))


def test_printer_pass(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _print(_decision(True, []), monkeypatch)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "==> Checking infrastructure policy",
        "  disk_free=107.0GB  cpu_load=0.80",
        "  [PASS] Infrastructure policy",
    ]


def test_printer_deny(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _print(_decision(False, ["Disk free 2.0GB is below minimum 10GB"]), monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        "  [DENY] Disk free 2.0GB is below minimum 10GB",
        "  [BLOCKED] Deployment denied by infrastructure policy",
    ]


def test_a_gate_deny_is_raised_without_words_and_worded_by_the_cli() -> None:
    """Core raises the domain, reasons and input; the one wording table gives the line."""
    from swiftdeploy.cli.policy_output import error_text
    from swiftdeploy.policy.gate import GateDenied

    denied = GateDenied(_decision(False, ["Disk free 2.0GB is below minimum 10GB"]))
    assert denied.message == ""
    assert (denied.domain, denied.input) == ("infra", {"disk_free_gb": 107.0, "cpu_load": 0.8})
    assert error_text(denied) == "Deployment denied by infrastructure policy"
    canary = GateDenied(Decision(domain="canary", allow=False, deny=["P99 too high"], checks={}))
    assert error_text(canary) == "Promotion denied by canary safety policy"
