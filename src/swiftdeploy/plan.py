"""`--dry-run`: what a command would change, and what the policy would say, applying nothing.

The plan shows the diff of every file the command would rewrite (the manifest's mode
and the files rendered from it) and evaluates the policy on the same input the real
command would send, without recording the decision: a dry run leaves no trace.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from swiftdeploy.desired import describe
from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.lifecycle import Deployment
from swiftdeploy.manifest import parse_manifest
from swiftdeploy.manifest_edit import Edits, with_values


@dataclass
class Plan:
    action: str
    steps: list[str]
    diffs: dict[str, str] = field(default_factory=dict)
    domain: str | None = None
    policy_input: dict[str, Any] = field(default_factory=dict)
    allow: bool | None = None
    reasons: list[str] = field(default_factory=list)
    unavailable: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": True,
            "steps": self.steps,
            "diffs": self.diffs,
            "policy": {
                "domain": self.domain,
                "input": self.policy_input,
                "allow": self.allow,
                "reasons": self.reasons,
                "unavailable": self.unavailable,
            },
        }


def plan(
    deployment: Deployment,
    action: str,
    *,
    steps: list[str],
    mode_after: str | None = None,
    domain: str | None = None,
    policy_input: dict[str, Any] | None = None,
    edits: Edits | None = None,
) -> Plan:
    result = Plan(action=action, steps=steps, domain=domain, policy_input=policy_input or {})
    result.diffs = file_diffs(deployment, mode_after, edits)
    if domain is not None:
        from swiftdeploy.policy import engine_for

        try:
            engine = engine_for(deployment.manifest.policy, deployment.project.policies_dir)
            decision = engine.evaluate(domain, result.policy_input)
        except PolicyUnavailable as exc:
            result.unavailable = exc.message
        else:
            result.allow, result.reasons = decision.allow, list(decision.deny)
    return result


def file_diffs(
    deployment: Deployment, mode_after: str | None, edits: Edits | None = None
) -> dict[str, str]:
    """Unified diffs of the manifest and generated files the command would rewrite."""
    from swiftdeploy.init import expected_files

    project = deployment.project
    original = project.manifest_path.read_text()
    changes = dict(edits or {})
    if mode_after:
        changes["services", "mode"] = mode_after
    text = with_values(original, changes) if changes else original
    manifest = parse_manifest(text.encode(), str(project.manifest_path))
    wanted = {project.manifest_path: text}
    wanted.update(expected_files(project, manifest, hashlib.sha256(text.encode()).hexdigest()))
    diffs: dict[str, str] = {}
    for path, new in wanted.items():
        old = path.read_text() if path.exists() else ""
        if old != new:
            diffs[path.name] = "".join(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"{path.name} (now)",
                    tofile=f"{path.name} (after the {mode_after or 'deploy'} step)",
                )
            )
    return diffs


def plan_deploy(deployment: Deployment) -> Plan:
    from swiftdeploy.desired import replaces
    from swiftdeploy.policy.facts import infra_facts

    desired = deployment.desired()  # a missing image or command is refused here too
    state = deployment.runtime.load()
    manifest = deployment.manifest
    stable = state.stable_instance()
    if stable is None:
        steps = [f"start stable {desired.describe()} and route all traffic to it"]
        if manifest.services.mode == "canary":
            steps.append(f"start a canary at {manifest.canary.weight}% of traffic")
    elif replaces(state, desired, manifest.services.mode):
        steps = [
            f"replace stable {describe(stable)} with {desired.describe()} without downtime",
            "start it beside the old one, health-check it, switch all traffic to it",
            f"drain and stop {stable.id}",
        ]
    else:
        steps = [f"start nothing: the stack is already running ({describe(stable)})"]
    facts = infra_facts(deployment.project.root)
    return plan(deployment, "deploy", steps=steps, domain="infra", policy_input=facts)


def plan_promote_canary(deployment: Deployment, edits: Edits) -> Plan:
    from swiftdeploy.desired import desired_after
    from swiftdeploy.policy.facts import canary_start_input
    from swiftdeploy.rollout_step import planned_steps

    artifact = desired_after(deployment, edits) if edits else deployment.desired()
    state = deployment.runtime.load()
    current = state.mode
    weights = planned_steps(deployment.manifest.canary)
    stable = state.stable_instance()
    beside = f" ({describe(stable)}, which keeps running it)" if stable else ""
    steps = [
        f"start canary {artifact.describe()} beside stable{beside}",
        f"shift traffic to it: {weights} %",
    ]
    policy_input = canary_start_input(current, artifact.version)
    return plan(
        deployment,
        "promote canary",
        steps=steps,
        mode_after="canary",
        domain="canary",
        policy_input=policy_input,
        edits=edits,
    )


def plan_promote_stable(deployment: Deployment, window_s: float | None) -> Plan:
    from swiftdeploy.errors import UsageError
    from swiftdeploy.windows import measure_promotion

    state = deployment.runtime.load()
    canary = state.canary_instance()
    if canary is None:
        raise UsageError("no canary is running", hint="run 'swiftdeploy promote canary' first")
    policy_input = measure_promotion(deployment, state, canary, window_s)
    steps = [
        f"start stable {describe(canary)}, move all traffic to it",
        "drain and stop the old stable and the canary",
    ]
    return plan(
        deployment,
        "promote stable",
        steps=steps,
        mode_after="stable",
        domain="canary",
        policy_input=policy_input,
    )


def plan_rollback(deployment: Deployment) -> Plan:
    state = deployment.runtime.load()
    canary, stable = state.canary_instance(), state.stable_instance()
    pinned = stable.pinned() if stable is not None else None
    steps = (
        [f"move all traffic to stable {describe(stable)}, drain and stop canary {describe(canary)}"]
        if canary
        else ["nothing to roll back: no canary is running"]
    )
    # The manifest goes back to what stable runs (the diff shows it).
    edits = pinned.manifest_values() if canary and pinned else None
    return plan(deployment, "rollback", steps=steps, mode_after="stable", edits=edits)
