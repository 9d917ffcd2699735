"""`audit`: the one core function behind the verb, the request it takes and what it returns.

It holds the rule the CLI used to hold: --verify wins, then --head (print it; a SEQ:HASH
is only checked with --verify), then --replay, else the report for --since/--until.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from swiftdeploy.errors import UsageError
from swiftdeploy.history import History
from swiftdeploy.project import Project

if TYPE_CHECKING:
    from swiftdeploy.audit import AuditResult
    from swiftdeploy.audit_replay import Replayed
    from swiftdeploy.history import VerifyResult

Anchor = tuple[int, str]


@dataclass(frozen=True)
class AuditRequest:
    """What the operator asked `audit` for; `head` is "" for a bare --head, else SEQ:HASH."""

    since: str | None = None
    until: str | None = None
    verify: bool = False
    head: Anchor | str | None = None
    replay: str | None = None  # a decision id


@dataclass(frozen=True)
class AuditOutcome:
    """One of: the report written, the chain verified, the chain head, a decision replayed."""

    kind: Literal["report", "verify", "head", "replay"]
    history_name: str
    report: AuditResult | None = None
    verified: VerifyResult | None = None
    anchor: Anchor | None = None  # the head --verify checked the file against, if any
    head: Anchor | None = None
    replayed: Replayed | None = None


def run(manifest_path: Path, request: AuditRequest) -> AuditOutcome:
    """Carry out one `audit` request for the project of `manifest_path`."""
    project = Project.at(manifest_path)
    history = History(project.history_path)
    name = history.path.name
    if request.verify:
        anchor = request.head if isinstance(request.head, tuple) else None
        return AuditOutcome("verify", name, verified=history.verify(anchor=anchor), anchor=anchor)
    if request.head is not None:
        if request.head != "":
            raise UsageError("--head SEQ:HASH is checked with --verify; --head alone prints it")
        return AuditOutcome("head", name, head=history.chain_head())
    if request.replay is not None:
        from swiftdeploy.audit_replay import replay_decision

        return AuditOutcome(
            "replay", name, replayed=replay_decision(project, history, request.replay)
        )
    from swiftdeploy.audit import run_audit
    from swiftdeploy.audit_replay import time_bound

    since, until = time_bound("since", request.since), time_bound("until", request.until)
    report = run_audit(history, project.audit_report, since=since, until=until)
    return AuditOutcome("report", name, report=report)
