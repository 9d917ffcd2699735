"""Deploy, promote, rollback and teardown: lock → reconcile → policy gate → runtime → history.

The lifecycle gathers facts and acts on decisions; it never decides whether an
action is safe. Every step that changes what runs is recorded in the state
before it happens (so a killed CLI can be reconciled) and in the history after.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from swiftdeploy.errors import HealthTimeout, PolicyUnavailable, UsageError
from swiftdeploy.history import History
from swiftdeploy.manifest import Manifest, load_manifest
from swiftdeploy.project import Project
from swiftdeploy.runtime import runtime_for
from swiftdeploy.runtime.base import Health, InstanceSpec, Runtime
from swiftdeploy.state import DeploymentState, InstanceRecord

if TYPE_CHECKING:
    from swiftdeploy.artifact import Artifact
    from swiftdeploy.policy.decision import Decision
    from swiftdeploy.policy.engines import PolicyEngine
    from swiftdeploy.policy.events import PolicyEvent

FIRST_PAUSE_S = 0.1  # the readiness wait's first pause; doubled up to health.interval


class Reporter(Protocol):
    """Where the lifecycle tells the operator what it is doing (the CLI's console).

    Policy questions and answers go to `policy` as events: the reporter words them
    (cli/policy_output), so no core module chooses a policy's title or colour.
    """

    def step(self, text: str) -> None: ...

    def info(self, text: str) -> None: ...

    def tag(self, label: str, text: str, *, style: str = "bold") -> None: ...

    def policy(self, event: PolicyEvent) -> None: ...


class SilentReporter:
    def step(self, text: str) -> None:
        pass

    def info(self, text: str) -> None:
        pass

    def tag(self, label: str, text: str, *, style: str = "bold") -> None:
        pass

    def policy(self, event: PolicyEvent) -> None:
        pass


@dataclass(frozen=True)
class Outcome:
    """What a lifecycle command did, for the CLI to print or emit as JSON."""

    action: str
    changed: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    # False when the command ran to its end but the release did not happen (a rollout that
    # was rolled back or aborted): the CLI exits 1, as `kubectl argo rollouts status` does.
    succeeded: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "changed": self.changed,
            "succeeded": self.succeeded,
            "summary": self.summary,
            **self.details,
        }


@dataclass
class Deployment:
    """Everything a lifecycle command works with, loaded once per command."""

    project: Project
    manifest: Manifest
    runtime: Runtime
    history: History
    reporter: Reporter
    policy_override: str | None = None  # "allow" from --policy-unavailable=allow

    @classmethod
    def open(
        cls,
        manifest_path: Path,
        *,
        reporter: Reporter | None = None,
        runtime_name: str | None = None,
        policy_override: str | None = None,
    ) -> Deployment:
        project = Project.at(manifest_path)
        manifest = load_manifest(project.manifest_path, name=str(manifest_path))
        runtime = runtime_for(runtime_name or manifest.runtime, project, manifest)
        return cls(
            project=project,
            manifest=manifest,
            runtime=runtime,
            history=History(project.history_path, on_anchor=_anchor_sink(manifest)),
            reporter=reporter or SilentReporter(),
            policy_override=policy_override,
        )

    # -- shared steps ----------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, state: DeploymentState, pending: str | None) -> Iterator[DeploymentState]:
        """One state change: `pending` is on disk before it starts, cleared and saved after.

        With pending=None nothing is marked, and the state is still saved once at the end.
        When the body raises, `pending` stays recorded: the next command's reconcile undoes it.
        """
        if pending is not None:
            state.pending = pending
            self.runtime.save(state)
        yield state
        state.pending = None
        self.runtime.save(state)

    def reconcile(self) -> DeploymentState:
        """Load the state and finish or undo whatever a killed command left behind."""
        from swiftdeploy.state import load_state

        recorded = load_state(self.project.state_file)
        state = self.runtime.load()
        orphans = [iid for iid in state.instances if iid not in (state.stable, state.canary)]
        # What each ran, as the runtime found it (a runtime records None when it cannot tell).
        ran = {iid: state.instances[iid].artifact for iid in orphans}
        for instance_id in orphans:
            pinned = state.instances[instance_id].pinned()
            runs = f"runs {pinned.describe()}" if pinned else "what it runs is unknown"
            self.reporter.info(
                f"reconcile: stopping {instance_id} ({runs}), left by an interrupted command"
            )
            self.runtime.stop_instance(state, instance_id)
        interrupted = state.pending
        if state.pending:
            self.reporter.info(f"reconcile: the interrupted '{state.pending}' was rolled back")
            self.history.append(
                "reconcile",
                {"interrupted": state.pending, "stopped": orphans, "stopped_artifacts": ran},
            )
            state.pending = None
        # Traffic may still point at an instance that died or that an interrupted command
        # started (and that was just stopped): route again to what is left.
        lost = (recorded.stable, recorded.canary) != (state.stable, state.canary)
        if state.stable and (state.nginx is None or orphans or interrupted or lost):
            self.runtime.route(state)
        self.runtime.save(state)
        return state

    def start_and_wait(
        self, state: DeploymentState, spec: InstanceSpec, timeout: float | None = None
    ) -> InstanceRecord:
        """Start an instance and wait until it passes services.health; stop it if it never
        does within `timeout` (default services.health.start_timeout), traffic untouched."""
        check = self.manifest.services.health
        timeout = check.start_timeout if timeout is None else timeout
        record = self.runtime.start_instance(state, spec)
        self.runtime.save(state)  # the pid is on disk before we wait, so a crash can clean up
        self.reporter.step(f"Waiting for {record.id} to be healthy (timeout {timeout:g}s)")
        deadline = time.monotonic() + timeout
        pause = FIRST_PAUSE_S
        health = self.runtime.health(record)
        while not (health.healthy and health.mode == spec.mode):
            left = deadline - time.monotonic()
            if left <= 0 or health.exited:
                within = "" if health.exited else f" within {timeout:g}s"
                self._never_healthy(state, record, _last_answer(health, spec.mode), within)
            # Short pauses first (a fast service gets its traffic fast), then every interval.
            time.sleep(min(pause, left))
            pause = min(pause * 2, check.interval)
            health = self.runtime.health(record)
        self.reporter.tag("OK", f"{record.id} is healthy (mode={health.mode})", style="green")
        return record

    def _never_healthy(
        self, state: DeploymentState, record: InstanceRecord, detail: str, within: str
    ) -> None:
        """Stop an instance that did not become healthy (it never had traffic), record why
        (its last health answer and the tail of its log) and raise HealthTimeout."""
        from swiftdeploy.runtime.logs import tail

        log_tail = tail(record)
        self.runtime.stop_instance(state, record.id)
        self.runtime.save(state)
        self.history.append(
            "health_failed",
            {
                "instance": record.id,
                "track": record.track,
                "version": record.version,
                "artifact": record.artifact,
                "health": detail,
                "log_tail": log_tail,
            },
        )
        said = f"; its log ends: {' | '.join(log_tail)}" if log_tail else ""
        raise HealthTimeout(
            f"{record.id} did not become healthy{within}: {detail}{said}",
            hint=f"it was stopped before any traffic reached it; see its log: {record.log}",
        )

    def desired(self, version: str | None = None) -> Artifact:
        """The manifest's artifact (at `version`, default services.version), resolved now:
        ArtifactMissing (a usage error) before anything changes when it does not exist."""
        return self.runtime.artifact(version or self.manifest.services.version)

    def decide(self, domain: str, policy_input: dict[str, Any]) -> Decision:
        """Ask the policy engine and return its decision, allowed or not.

        Raises PolicyUnavailable when the engine cannot answer (fail closed), unless the
        operator's override lets it through (then recorded as such).
        """
        from swiftdeploy.policy.gate import decide

        engine, on_unavailable = self._engine()
        return decide(
            engine, domain, policy_input, on_unavailable=on_unavailable, record=self.history.append
        )

    def ask_policy(self, domain: str, policy_input: dict[str, Any]) -> Decision:
        """Ask the policy engine, tell the reporter what it was asked and what it answered.

        Raises PolicyDenied (the gate's, with the domain, reasons and input) /
        PolicyUnavailable: the engine decides, we only act.
        """
        from swiftdeploy.policy.events import Checking, Decided, Unanswered
        from swiftdeploy.policy.gate import GateDenied, gate

        self.reporter.policy(Checking(domain, policy_input))
        try:
            engine, on_unavailable = self._engine()
            decision = gate(
                engine,
                domain,
                policy_input,
                on_unavailable=on_unavailable,
                record=self.history.append,
            )
        except PolicyUnavailable as exc:
            self.reporter.policy(Unanswered(domain, exc.message))
            raise
        except GateDenied as exc:
            self.reporter.policy(Decided(exc.decision))
            raise
        self.reporter.policy(Decided(decision))
        return decision

    def _engine(self) -> tuple[PolicyEngine, str]:
        """The engine the manifest names, and what to do when it cannot answer."""
        from swiftdeploy.policy import engine_for

        on_unavailable = self.policy_override or self.manifest.policy.on_unavailable
        return engine_for(self.manifest.policy, self.project.policies_dir), on_unavailable

    def chaos_token(self) -> str | None:
        if self.manifest.chaos.auth == "none":
            return None
        path = self.project.state_dir / "chaos.token"
        if not path.exists():
            import secrets

            from swiftdeploy.files import atomic_write

            self.project.ensure_state_dir()
            atomic_write(path, secrets.token_urlsafe(24) + "\n", mode=0o600)
        return path.read_text().strip()

    def set_mode(self, mode: str, stable: InstanceRecord | None = None) -> list[str]:
        """Record the new mode in the manifest and re-render the files; with `stable`, also
        bring the manifest's release (image or command, version) back in line with what
        stable runs. Returns the values that changed, for the operator."""
        from swiftdeploy.init import render_project
        from swiftdeploy.manifest_edit import set_values

        edits: dict[tuple[str, str], object] = {("services", "mode"): mode}
        pinned = stable.pinned() if stable is not None else None
        if pinned is not None and not pinned.same_bits(self._desired_or_none(pinned.version)):
            edits.update(pinned.manifest_values())
        before = self.manifest.model_dump()
        if set_values(self.project.manifest_path, edits):
            self.manifest = load_manifest(self.project.manifest_path)
        render_project(self.project, self.manifest)
        after = self.manifest.model_dump()
        return [
            f"{section}.{key}"
            for section, key in edits
            if (section, key) != ("services", "mode")
            and before.get(section, {}).get(key) != after.get(section, {}).get(key)
        ]

    def set_release(self, artifact_values: dict[tuple[str, str], object]) -> None:
        """Write the desired release (`promote canary --image/--version`) into the manifest,
        comment-preserving, and use it from now on."""
        from swiftdeploy.manifest_edit import set_values

        if set_values(self.project.manifest_path, artifact_values):
            self.manifest = load_manifest(self.project.manifest_path)
            # Before anything runs in this command: the runtime reads the manifest afresh.
            self.runtime = runtime_for(self.runtime.name, self.project, self.manifest)

    def _desired_or_none(self, version: str) -> Artifact | None:
        from swiftdeploy.artifact import ArtifactMissing

        try:
            return self.runtime.artifact(version)
        except ArtifactMissing:
            return None


def _anchor_sink(manifest: Manifest) -> Any:
    """Where the history's head goes every ANCHOR_EVERY events: the webhooks, if any."""
    urls = manifest.notify.webhook
    if not urls:
        return None
    from swiftdeploy.notify import send_anchor

    return lambda head: send_anchor(urls, head, name=manifest.services.name)


def _last_answer(health: Health, mode: str) -> str:
    if health.healthy:  # it answered, but as another track: the wrong process, or confused
        return f"its health check passes but it reports mode={health.mode}, not {mode}"
    return health.detail


def stop_all_but(deployment: Deployment, state: DeploymentState, keep: set[str]) -> list[str]:
    stopped = [iid for iid in list(state.instances) if iid not in keep]
    for instance_id in stopped:
        deployment.reporter.info(f"draining and stopping {instance_id}")
        deployment.runtime.stop_instance(state, instance_id)
    return stopped


def require_running(state: DeploymentState) -> InstanceRecord:
    stable = state.stable_instance()
    if stable is None:
        raise UsageError("nothing is deployed", hint="run 'swiftdeploy deploy' first")
    return stable
