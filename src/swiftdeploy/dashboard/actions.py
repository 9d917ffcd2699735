"""The dashboard's one door into the core: every read of the deployment and every control.

Nothing else in `swiftdeploy.dashboard` imports the lifecycle, release, rollout, status,
observe, policy or runtime modules. Controls call the very functions the CLI calls, so
they take the same project lock and a click can never race a command. A policy's
answer is worded as on the command line, by cli/policy_output (error_text, report).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The operator reads a policy's answer in the same words here as on the command line.
from swiftdeploy.cli.policy_output import error_text, report
from swiftdeploy.errors import SwiftDeployError, UsageError
from swiftdeploy.lifecycle import Deployment, Outcome
from swiftdeploy.metrics import Scrape
from swiftdeploy.state import DeploymentState, InstanceRecord

if TYPE_CHECKING:
    from swiftdeploy.policy.events import PolicyEvent


@dataclass
class CollectingReporter:
    """Keeps what the core reports, so a control's answer can show it."""

    lines: list[str] = field(default_factory=list)

    def step(self, text: str) -> None:
        self.lines.append(f"==> {text}")

    def info(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def tag(self, label: str, text: str, *, style: str = "bold") -> None:
        self.lines.append(f"  [{label}] {text}")

    def policy(self, event: PolicyEvent) -> None:
        report(self, event)


def open_deployment(manifest_path: Path, reporter: CollectingReporter | None = None) -> Deployment:
    return Deployment.open(manifest_path, reporter=reporter or CollectingReporter())


# -- reading --------------------------------------------------------------------------------


def load_state(deployment: Deployment) -> DeploymentState:
    return deployment.runtime.load()


def scrape(deployment: Deployment, instance: InstanceRecord) -> Scrape | str:
    from swiftdeploy.observe import try_scrape

    return try_scrape(deployment.runtime, instance)


def health(deployment: Deployment, instance: InstanceRecord) -> tuple[bool, str]:
    found = deployment.runtime.health(instance)
    return found.healthy, found.detail


def record_scrapes(
    deployment: Deployment, scrapes: Mapping[str, Scrape], taken_at: float, live: set[str]
) -> None:
    """Add this round to the scrape cache `status` keeps: the series the gate judges."""
    from swiftdeploy.scrape_cache import ScrapeCache

    ScrapeCache(deployment.project.state_dir / "scrapes.json").record(
        dict(scrapes), taken_at, live=live
    )


def cached_scrapes(deployment: Deployment) -> dict[str, list[tuple[float, Scrape]]]:
    """Every scrape in the cache, by instance id, oldest first."""
    from swiftdeploy.scrape_cache import from_json

    path = deployment.project.state_dir / "scrapes.json"
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    found: dict[str, list[tuple[float, Scrape]]] = {}
    if not isinstance(raw, dict):
        return found
    for instance_id, entries in raw.items():
        try:
            found[str(instance_id)] = sorted(
                ((float(t), from_json(s)) for t, s in entries), key=lambda e: e[0]
            )
        except (KeyError, TypeError, ValueError):
            continue  # a cache written by another version: skip it, never fail the page
    return found


def window_figures(before: Scrape, after: Scrape, elapsed_s: float) -> dict[str, Any]:
    """The policy's figures for one window: req/s, error rate, P99, request count."""
    from swiftdeploy.metrics import window
    from swiftdeploy.observe import figures

    return figures(window(before, after, max(elapsed_s, 1e-3)))


def load_rollout(deployment: Deployment) -> dict[str, Any] | None:
    from swiftdeploy.rollout import load_rollout as load

    rollout = load(deployment)
    return rollout.model_dump() if rollout is not None else None


def rollout_spec(deployment: Deployment) -> dict[str, Any]:
    spec = deployment.manifest.canary
    return {
        "interval_s": spec.interval,
        "max_failed_checks": spec.max_failed_checks,
        "progress_deadline_s": spec.progress_deadline,
        "window_s": spec.window_s,
    }


def host_check(deployment: Deployment) -> dict[str, Any]:
    """The infrastructure policy on the host's facts now, unrecorded (as `status` asks it)."""
    from swiftdeploy.errors import PolicyUnavailable
    from swiftdeploy.policy import engine_for
    from swiftdeploy.policy.facts import infra_facts

    facts = infra_facts(deployment.project.root)
    try:
        engine = engine_for(deployment.manifest.policy, deployment.project.policies_dir)
        decision = engine.evaluate("infra", facts)
    except PolicyUnavailable as exc:
        return {"facts": facts, "allow": None, "checks": [], "unavailable": exc.message}
    checks = [
        {"rule": name, "status": "PASS" if check.passed else "FAIL", "detail": check.detail}
        for name, check in decision.checks.items()
    ]
    return {"facts": facts, "allow": decision.allow, "checks": checks, "unavailable": ""}


def history_path(deployment: Deployment) -> Path:
    return deployment.project.history_path


def verify_history(deployment: Deployment) -> dict[str, Any]:
    result = deployment.history.verify()
    return {
        "ok": result.ok,
        "count": result.count,
        "first_bad_line": result.first_bad_line,
        "problem": result.problem,
    }


# -- controls --------------------------------------------------------------------------------

CONTROLS = ("pause", "resume", "abort", "set-weight", "promote-stable", "rollback")


def control(deployment: Deployment, action: str, weight: int | None = None) -> Outcome:
    """Carry out one control exactly as the CLI verb would, and record it 'via dashboard'."""
    try:
        outcome = _carry_out(deployment, action, weight)
    except SwiftDeployError as exc:
        _record(deployment, action, weight, ok=False, summary=error_text(exc))
        raise
    _record(deployment, action, weight, ok=True, summary=outcome.summary)
    return outcome


def _carry_out(deployment: Deployment, action: str, weight: int | None) -> Outcome:
    if action == "promote-stable":
        from swiftdeploy.release import promote_stable

        return promote_stable(deployment)
    if action == "rollback":
        from swiftdeploy.release import rollback

        return rollback(deployment)
    from swiftdeploy.rollout import control as steer
    from swiftdeploy.rollout import load_rollout as load
    from swiftdeploy.rollout_state import _rollout_running

    if action == "resume" and not _rollout_running(deployment):
        # Nobody walks the steps: `promote --resume` would take the rollout over and run
        # it to the end. Start exactly that command beside the dashboard, not inside it.
        rollout = load(deployment)
        if rollout is None or rollout.finished:
            raise UsageError("no rollout is in progress")
        argv = [
            sys.executable, "-m", "swiftdeploy", "-f", str(deployment.project.manifest_path),
            "promote", "--resume",
        ]  # fmt: skip
        from swiftdeploy.dashboard.supervise import spawn_beside

        pid = spawn_beside(deployment, argv, "dashboard-resume.log")
        return Outcome("rollout", True, f"resume requested: taken over by pid {pid}", {})
    return steer(deployment, action, weight)


def _record(
    deployment: Deployment, action: str, weight: int | None, *, ok: bool, summary: str
) -> None:
    payload: dict[str, Any] = {"action": action, "via": "dashboard", "ok": ok, "summary": summary}
    if weight is not None:
        payload["weight"] = weight
    deployment.history.append("dashboard_action", payload)
