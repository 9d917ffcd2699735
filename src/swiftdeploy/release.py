"""The release commands: deploy, promote stable, rollback, teardown.

Each takes the deployment lock, reconciles what a killed command may have left,
asks the policy first, and records what it did in the history. `promote canary` is a
rollout (rollout.py, its steps in rollout_step.py), one-shot or progressive.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from swiftdeploy import windows
from swiftdeploy.desired import describe, replaces
from swiftdeploy.errors import UsageError
from swiftdeploy.lifecycle import Deployment, Outcome, require_running, stop_all_but
from swiftdeploy.rollout_step import start_canary
from swiftdeploy.runtime.base import InstanceSpec
from swiftdeploy.state import DeploymentState, InstanceRecord

if TYPE_CHECKING:
    from swiftdeploy.artifact import Artifact
    from swiftdeploy.manifest import Manifest
    from swiftdeploy.plan import Plan


def deploy(deployment: Deployment) -> Outcome:
    """Gate on the host's facts, render, start stable (and canary if the manifest says so).

    On a running stack whose manifest names another artifact than stable runs (and no
    canary), stable is replaced without downtime (replace_stable); otherwise a no-op.
    """
    from swiftdeploy.init import render_project
    from swiftdeploy.policy.facts import infra_facts

    project, manifest, runtime = deployment.project, deployment.manifest, deployment.runtime
    desired = deployment.desired()  # refused here, before anything changes, if it is missing
    with project.lock("deploy"):
        state = deployment.reconcile()
        start_policy_engine(deployment, state)
        runtime.save(state)
        deployment.ask_policy("infra", infra_facts(project.root))
        render_project(project, manifest)
        # Before nginx's first request, so the collector's coverage starts at its first line.
        collector = windows.start_collector(deployment)
        supervisor = runtime.supervise()
        stable = state.stable_instance()
        started: list[str] = []
        replaced = stable if replaces(state, desired, manifest.services.mode) else None
        if replaced is not None:
            started.append(replace_stable(deployment, state, desired).id)
        with deployment.step(state, "deploy" if stable is None else None):
            if stable is None:
                spec = InstanceSpec("stable", "stable", desired.version, None, desired)
                record = deployment.start_and_wait(state, spec)
                state.stable = record.id
                started.append(record.id)
            if manifest.services.mode == "canary" and state.canary is None:
                record = start_canary(deployment, state, desired.version, desired)
                started.append(record.id)
            runtime.route(state)
            stop_all_but(deployment, state, {i for i in (state.stable, state.canary) if i})
        event: dict[str, Any] = {"mode": manifest.services.mode, "started": started}
        if replaced is not None:
            event["replaced"] = replaced.id
        deployment.history.append("deploy", {**event, **tracks(state)})
    from swiftdeploy.dashboard.supervise import start_beside

    dashboard = start_beside(deployment)  # only when the manifest enables it
    restarted = [name for name in (collector, supervisor) if name]
    summary = "stack is healthy" if started else "already running; nothing to change"
    if restarted and not started:
        summary = f"already running; restarted the {' and the '.join(restarted)}"
    if replaced is not None:
        summary = f"stable replaced: {describe(state.stable_instance())} (was {describe(replaced)})"
    details = {"started": started, **tracks(state)}
    if dashboard:
        details["dashboard"] = dashboard
    if collector:
        details["collector"] = collector
    if supervisor:
        details["supervisor"] = supervisor
    return Outcome("deploy", bool(started or restarted), summary, details)


def replace_stable(
    deployment: Deployment, state: DeploymentState, desired: Artifact
) -> InstanceRecord:
    """Zero-downtime replacement of stable, the way Kamal deploys: start the new artifact
    beside the old (on the canary track, with no share of traffic), health-check it, then
    make it stable — which switches traffic to it and drains and stops the old one."""
    runtime = deployment.runtime
    deployment.reporter.step(f"Replacing stable with {desired.describe()}")
    with deployment.step(state, "deploy replace stable"):
        spec = InstanceSpec("canary", "canary", desired.version, None, desired)
        beside = deployment.start_and_wait(state, spec)
        state.canary, state.canary_weight = beside.id, 0
        runtime.route(state)
        runtime.save(state)
    return make_canary_stable(deployment, state, beside, record_as=None)


def start_policy_engine(deployment: Deployment, state: DeploymentState) -> None:
    """The OPA server the manifest asks for, once: where it runs is the runtime's business,
    whether one is needed is decided here (not when the operator's own OPA answers)."""
    from swiftdeploy.policy.engines import external_opa_url

    manifest = deployment.manifest
    if manifest.policy.engine == "opa" and state.opa is None and not external_opa_url():
        state.opa = deployment.runtime.start_policy_engine(state)


def promote_stable(deployment: Deployment, *, window_s: float | None = None) -> Outcome:
    with deployment.project.lock("promote stable"):
        state = deployment.reconcile()
        require_running(state)
        canary = state.canary_instance()
        if canary is None:
            raise UsageError("no canary is running", hint="run 'swiftdeploy promote canary' first")
        policy_input = windows.measure_promotion(deployment, state, canary, window_s)
        deployment.ask_policy("canary", policy_input)
        record = make_canary_stable(deployment, state, canary)
    summary = f"version {canary.version} is now stable: {describe(record)}"
    return Outcome("promote", True, summary, tracks(state))


def make_canary_stable(
    deployment: Deployment,
    state: DeploymentState,
    canary: InstanceRecord,
    *,
    record_as: str | None = "promote",
) -> InstanceRecord:
    """Start a stable instance of the canary's artifact, switch to it, drain the others.

    Records a `promote` event unless record_as is None (deploy's replacement records its own).
    """
    runtime = deployment.runtime
    with deployment.step(state, "promote stable"):
        spec = InstanceSpec("stable", "stable", canary.version, None, canary.pinned())
        record = deployment.start_and_wait(state, spec)
        state.stable, state.canary, state.canary_weight = record.id, None, 0
        runtime.route(state)
        runtime.save(state)  # traffic is on the new stable before the old ones drain
        stop_all_but(deployment, state, {record.id})
    deployment.set_mode("stable", stable=record)
    if record_as is not None:
        deployment.history.append(
            record_as,
            {"from": "canary", "to": "stable", "version": canary.version, **tracks(state)},
        )
    return record


def back_to_stable(deployment: Deployment, state: DeploymentState) -> InstanceRecord | None:
    """All traffic to stable, the canary drained and stopped; returns the stopped canary.

    Stable's artifact is untouched, and the manifest is brought back in line with it.
    """
    runtime = deployment.runtime
    stable = require_running(state)
    canary = state.canary_instance()
    if canary is not None:
        with deployment.step(state, "rollback"):
            state.canary, state.canary_weight = None, 0
            runtime.route(state)
            # Traffic is on stable before the canary drains: a CLI killed while draining
            # leaves the canary an orphan (stopped on reconcile), never back on traffic.
            runtime.save(state)
            stop_all_but(deployment, state, {stable.id})
    realigned = deployment.set_mode("stable", stable=stable)
    if realigned:
        deployment.reporter.info(
            f"manifest.yaml: {', '.join(realigned)} set back to what stable runs "
            f"({describe(stable)})"
        )
    return canary


def rollback(deployment: Deployment) -> Outcome:
    with deployment.project.lock("rollback"):
        state = deployment.reconcile()
        stable = require_running(state)
        before = deployment.manifest
        canary = back_to_stable(deployment, state)
        realigned = _release_of(deployment.manifest) != _release_of(before)
        deployment.history.append(
            "rollback",
            {"stopped": canary.id if canary else None, "manifest_realigned": realigned}
            | tracks(state),
        )
    if canary is None:
        return Outcome("rollback", False, "no canary was running; all traffic is on stable")
    summary = f"all traffic back on stable {stable.version}: {describe(stable)}"
    if realigned:
        summary += "; manifest.yaml set back to what stable runs"
    return Outcome("rollback", True, summary, tracks(state))


def _release_of(manifest: Manifest) -> tuple[object, ...]:
    return manifest.services.image, manifest.services.version, manifest.local.command


def tracks(state: DeploymentState) -> dict[str, Any]:
    """Each track's version and artifact (as recorded), and the canary's share."""
    stable, canary = state.stable_instance(), state.canary_instance()
    return {
        "stable": stable.version if stable else None,
        "canary": canary.version if canary else None,
        "canary_weight": state.canary_weight,
        "artifacts": {
            "stable": stable.artifact if stable else None,
            "canary": canary.artifact if canary else None,
        },
    }


def deploy_command(deployment: Deployment, *, dry_run: bool = False) -> Outcome | Plan:
    """The `deploy` verb: deploy, or with dry_run only plan it."""
    from swiftdeploy.plan import plan_deploy

    return plan_deploy(deployment) if dry_run else deploy(deployment)


def rollback_command(deployment: Deployment, *, dry_run: bool = False) -> Outcome | Plan:
    """The `rollback` verb: roll back, or with dry_run only plan it."""
    from swiftdeploy.plan import plan_rollback

    return plan_rollback(deployment) if dry_run else rollback(deployment)


def teardown(deployment: Deployment, *, clean: bool) -> Outcome:
    project = deployment.project
    with project.lock("teardown", need_space=False):
        state = _load_for_teardown(deployment)
        from swiftdeploy.dashboard.supervise import stop_beside

        # The dashboard beside the deployment first: it would otherwise watch it go.
        stopped = stop_beside(deployment) + deployment.runtime.teardown(state)
        stopped += windows.stop_collector(deployment)  # after nginx: it reads the log to its end
        deployment.runtime.save(state)
        removed: list[str] = []
        if clean:
            for path in (project.nginx_conf, project.compose_file, project.stack_file):
                if path.exists():
                    path.unlink()
                    removed.append(path.name)
            if project.state_dir.exists():
                shutil.rmtree(project.state_dir)
                removed.append(project.state_dir.name + "/")
        deployment.history.append("teardown", {"stopped": stopped, "clean": clean})
    summary = f"stopped {', '.join(stopped)}" if stopped else "nothing was running"
    return Outcome(
        "teardown", bool(stopped or removed), summary, {"stopped": stopped, "removed": removed}
    )


def _load_for_teardown(deployment: Deployment) -> DeploymentState:
    """The state, or (when it cannot be read) the last good one: teardown never gives up.

    The runtime's teardown also finds what this project started on its own (pid files,
    socket folder, labels), so even an empty state stops everything.
    """
    from swiftdeploy.errors import StateError
    from swiftdeploy.state import salvage_state, save_state

    try:
        return deployment.runtime.load()
    except StateError:
        salvaged, note = salvage_state(deployment.project.state_file)
        deployment.reporter.tag("WARN", note, style="yellow")
        save_state(deployment.project.state_file, salvaged)
        return deployment.runtime.load()
