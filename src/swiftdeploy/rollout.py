"""Canary rollouts: the one-shot canary (single_step) and the progressive Runner.

Both enter their steps through rollout_step; only the Runner walks them. What follows is
the progressive canary: weighted steps, an analysis per step, automatic rollback.

Argo Rollouts / Flagger semantics on one host. At each step the canary receives that
share of traffic for one interval; the canary policy then judges the window of both
tracks and answers a verdict:

    pass          → next step (after the last one, the canary becomes stable)
    fail          → a failed check; at `max_failed_checks` the rollout rolls back
    inconclusive  → too little traffic: hold at this step, never advance on no data;
                    past `progress_deadline` without a verdict the rollout aborts

The rollout's own state lives in `.swiftdeploy/rollout.json`, so it survives a
restart of the CLI (`promote --resume` carries on), and `rollout.lock` keeps it to
one rollout at a time. Other commands steer a running rollout by queueing requests
(pause, resume, abort, set-weight) in `rollout-requests.json`; only the loop writes
`rollout.json`, so no request is lost to a concurrent write. The loop picks requests
up within a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from swiftdeploy import restarts
from swiftdeploy.clock import iso_utc
from swiftdeploy.errors import MetricsUnavailable, PolicyUnavailable, UsageError
from swiftdeploy.lifecycle import Deployment, Outcome
from swiftdeploy.notify import Notifier
from swiftdeploy.release import back_to_stable, make_canary_stable, tracks
from swiftdeploy.rollout_state import (
    Analysis,
    Phase,
    Rollout,
    _ControlRequested,
    _queue_request,
    _requests_path,
    _rollout_lock,
    _rollout_running,
    _take_requests,
    load_rollout,
    save_rollout,
)
from swiftdeploy.rollout_step import enter_first_step, enter_step, planned_steps

__all__ = ["Rollout", "Runner", "control", "load_rollout", "single_step"]


# -- the single-step case -----------------------------------------------------------------------


def single_step(deployment: Deployment, *, version: str | None = None) -> Outcome:
    """The one-shot `promote canary`: a rollout of the single step canary.weight.

    It enters its step as every rollout does, then leaves the analysis and the finish to
    the operator (`promote stable` or `rollback`). Nothing walks it, so it is not written
    to rollout.json and records a `promote` event, not rollout phases: `status` and
    `promote --resume` see no rollout in progress.
    """
    target_version = version or deployment.manifest.services.version
    rollout = Rollout(version=target_version, steps=[deployment.manifest.canary.weight])
    with deployment.project.lock("promote canary"):
        entered = enter_first_step(deployment, rollout)
        state = entered.state
        deployment.history.append(
            "promote",
            {
                "from": entered.mode_before,
                "to": "canary",
                "version": target_version,
                **tracks(state),
            },
        )
    summary = f"canary {target_version} receives {state.canary_weight}% of traffic"
    return Outcome("promote", entered.changed, summary, tracks(state))


# -- the loop -----------------------------------------------------------------------------------


class Runner:
    def __init__(
        self,
        deployment: Deployment,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.deployment = deployment
        self.spec = deployment.manifest.canary
        self.clock = clock
        self.sleep = sleep
        self.notifier = Notifier(
            deployment.manifest.notify.webhook,
            name=deployment.manifest.services.name,
            record=deployment.history.append,
            head=deployment.history.chain_head,
        )

    def run(self, *, version: str | None) -> Outcome:
        with _rollout_lock(self.deployment):
            try:
                rollout = load_rollout(self.deployment)
                if rollout is None or rollout.finished:
                    rollout = self._begin(version)
                else:
                    self.deployment.reporter.step(f"Resuming the rollout: {rollout.describe()}")
                while not rollout.finished:
                    rollout = self._tick(rollout)
            finally:
                self.notifier.close()
        summary = {
            "promoted": f"version {rollout.version} is now stable",
            "rolled_back": f"rolled back: version {rollout.version} failed its analysis",
            "aborted": f"aborted: version {rollout.version} was not promoted",
        }[rollout.phase]
        return Outcome(
            "rollout",
            True,
            summary,
            rollout.model_dump(),
            succeeded=rollout.phase == "promoted",
        )

    def _begin(self, version: str | None) -> Rollout:
        deployment = self.deployment
        steps = planned_steps(self.spec)
        target_version = version or deployment.manifest.services.version
        rollout = Rollout(version=target_version, steps=steps)
        with deployment.project.lock("promote canary --progressive"):
            enter_first_step(deployment, rollout)
            rollout.step_started = self.clock()  # the deadline counts from the step's start
            save_rollout(deployment, rollout)
        self._phase(rollout, "progressing", f"canary {target_version} at {steps[0]}% of traffic")
        return rollout

    def _tick(self, rollout: Rollout) -> Rollout:
        rollout = self._apply_controls(rollout)
        if rollout.finished:
            return rollout
        if rollout.phase == "paused":
            self.sleep(0.5)
            return rollout
        self.deployment.reporter.step(
            f"Step {rollout.step + 1}/{len(rollout.steps)}: canary at {rollout.weight}%, "
            f"analysing {self.spec.interval:g}s"
        )
        try:
            verdict, reasons, decision_id, evidence = self._analyse(rollout)
        except _ControlRequested:
            return rollout
        rollout.analyses.append(
            Analysis(
                step=rollout.step,
                weight=rollout.weight,
                verdict=verdict,
                reasons=reasons,
                decision_id=decision_id,
                ts=_now(),
            )
        )
        self.deployment.history.append(
            "rollout_analysis",
            {
                "version": rollout.version,
                "step": rollout.step,
                "weight": rollout.weight,
                "verdict": verdict,
                "reasons": reasons,
                "decision_id": decision_id,
                **({"evidence": evidence} if verdict != "pass" else {}),
            },
        )
        from swiftdeploy.policy.events import Analysed

        self.deployment.reporter.policy(Analysed(verdict, reasons))
        return self._advance(rollout, verdict, reasons)

    def _analyse(self, rollout: Rollout) -> tuple[str, list[str], str, dict[str, Any]]:
        from swiftdeploy.policy.facts import promotion_input
        from swiftdeploy.windows import judge_window

        deployment = self.deployment
        state = deployment.runtime.load()
        canary = state.canary_instance()
        if canary is None:
            return "fail", ["the canary is no longer running"], "", {}
        evidence: dict[str, Any] = {}
        since = time.time()  # the step's traffic: from now, a whole interval
        try:
            figures = judge_window(
                deployment,
                state,
                self.spec.interval,
                since=since,
                progress=lambda _elapsed, _total: self._check_controls(),
                sleep=self.sleep,
                evidence=evidence,
            )
        except MetricsUnavailable as exc:
            return "fail", [f"metrics unavailable: {exc.message}"], "", evidence
        # A canary its supervisor keeps restarting fails the check, whatever its figures
        # (each life may look healthy); restarts.json holds what the history records.
        restarted = restarts.count_since(deployment.project.state_dir, canary.id, since)
        if restarted:
            times = "once" if restarted == 1 else f"{restarted} times"
            return "fail", [f"the canary restarted {times} in the last window"], "", evidence
        policy_input = promotion_input(
            rollout.version,
            figures,
            analysis={"phase": "analysis", "step": rollout.step, "weight": rollout.weight},
        )
        evidence["figures"] = figures
        try:
            decision = deployment.decide("canary", policy_input)
        except PolicyUnavailable as exc:
            return "fail", [exc.message], "", evidence
        return decision.verdict, list(decision.deny), decision.decision_id, evidence

    def _advance(self, rollout: Rollout, verdict: str, reasons: list[str]) -> Rollout:
        if verdict == "pass":
            if rollout.step + 1 >= len(rollout.steps):
                return self._finish(rollout, "promoted", "all steps passed")
            rollout.step += 1
            rollout.weight_override = None
            rollout.step_started = self.clock()
            rollout.phase = "progressing"
            self._route(rollout)
            self._phase(rollout, "progressing", f"canary at {rollout.weight}% of traffic")
            return rollout
        if verdict == "fail":
            rollout.failed_checks += 1
            save_rollout(self.deployment, rollout)
            if rollout.failed_checks >= self.spec.max_failed_checks:
                limit = self.spec.max_failed_checks
                why = f"{rollout.failed_checks} failed checks (limit {limit}): " + "; ".join(
                    reasons
                )
                return self._finish(rollout, "rolled_back", why)
            return rollout
        waited = self.clock() - rollout.step_started
        if waited > self.spec.progress_deadline:
            deadline = self.spec.progress_deadline
            why = f"no conclusive analysis within the {deadline:g}s progress deadline"
            return self._finish(rollout, "aborted", why)
        if rollout.phase != "inconclusive":
            self._phase(rollout, "inconclusive", "; ".join(reasons) or "not enough traffic")
        save_rollout(self.deployment, rollout)
        return rollout

    def _finish(self, rollout: Rollout, phase: Phase, message: str) -> Rollout:
        deployment = self.deployment
        with deployment.project.lock(f"rollout {phase}"):
            state = deployment.reconcile()
            canary = state.canary_instance()
            if phase == "promoted" and canary is not None:
                make_canary_stable(deployment, state, canary)
            else:
                back_to_stable(deployment, state)
                deployment.history.append(
                    "rollback",
                    {"reason": message, "stopped": canary.id if canary else None, **tracks(state)},
                )
            self._phase(
                rollout, phase, message, kind="normal" if phase == "promoted" else "warning"
            )
        return rollout

    # -- operator controls --------------------------------------------------------------------

    def _check_controls(self) -> None:
        if _requests_path(self.deployment).exists():
            raise _ControlRequested

    def _apply_controls(self, rollout: Rollout) -> Rollout:
        for request in _take_requests(self.deployment):
            action = request.get("action")
            if action == "set-weight":
                rollout.weight_override = int(request["weight"])
                self._route(rollout)
                self._phase(
                    rollout, rollout.phase, f"weight set to {rollout.weight}% by the operator"
                )
            elif action == "abort":
                return self._finish(rollout, "aborted", "aborted by the operator")
            elif action == "pause":
                self._phase(rollout, "paused", "paused by the operator")
            elif action == "resume" and rollout.phase == "paused":
                rollout.step_started = self.clock()
                self._phase(rollout, "progressing", "resumed by the operator")
        return rollout

    def _route(self, rollout: Rollout) -> None:
        deployment = self.deployment
        with deployment.project.lock("rollout set weight"):
            enter_step(deployment, rollout)
            save_rollout(deployment, rollout)

    def _phase(self, rollout: Rollout, phase: Phase, message: str, *, kind: str = "normal") -> None:
        rollout.phase = phase
        save_rollout(self.deployment, rollout)
        self.deployment.history.append(
            "rollout",
            {
                "phase": phase,
                "message": message,
                "version": rollout.version,
                "step": rollout.step,
                "weight": rollout.weight,
                "steps": rollout.steps,
            },
        )
        self.deployment.reporter.info(f"rollout {phase}: {message}")
        self.notifier.send(phase, message, kind=kind)


def control(deployment: Deployment, action: str, weight: int | None = None) -> Outcome:
    """pause / resume / abort / set-weight a rollout; a running loop picks the request up."""
    with deployment.project.lock(f"promote --{action}"):
        rollout = load_rollout(deployment)
        if rollout is None or rollout.finished:
            raise UsageError("no rollout is in progress")
        _queue_request(deployment, {"action": action, "weight": weight})
        running = _rollout_running(deployment)
    if not running and action == "resume":
        return Runner(deployment).run(version=None)
    if not running:
        # Nobody walks the steps right now: carry the request out here and stop.
        runner = Runner(deployment)
        try:
            with _rollout_lock(deployment):
                rollout = runner._apply_controls(rollout)
        finally:
            runner.notifier.close()
    verb = {
        "pause": "pause",
        "resume": "resume",
        "abort": "abort",
        "set-weight": f"weight {weight}%",
    }
    where = "the running rollout picks it up" if running else rollout.describe()
    return Outcome("rollout", True, f"{verb[action]} requested: {where}", {"phase": rollout.phase})


def _now() -> str:
    return iso_utc()
