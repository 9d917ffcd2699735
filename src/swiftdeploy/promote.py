"""`promote`: the one core function behind the verb, and the request it takes.

It holds the rule the CLI used to hold: which of a dry run, a rollout control, a
progressive rollout, a one-shot canary or `promote stable` the request stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from swiftdeploy.desired import desired_after
from swiftdeploy.errors import UsageError

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Deployment, Outcome
    from swiftdeploy.plan import Plan
    from swiftdeploy.runtime.base import Runtime


@dataclass(frozen=True)
class PromoteRequest:
    """What the operator asked: a TARGET (canary|stable), or one rollout control."""

    target: str | None = None  # "canary" or "stable"
    version: str | None = None
    window_s: float | None = None
    progressive: bool = False
    control: str | None = None  # "pause", "resume" or "abort"
    set_weight: int | None = None
    dry_run: bool = False
    image: str | None = None  # a new canary's image (services.image, written back)
    command: tuple[str, ...] | None = None  # a new canary's command (local.command, likewise)

    @property
    def steering(self) -> bool:
        return self.control is not None or self.set_weight is not None


def check(request: PromoteRequest) -> None:
    """Raise UsageError unless the request names exactly one of TARGET or a control."""
    if request.steering == (request.target is not None):
        raise UsageError("give either TARGET (canary|stable) or one rollout control flag")
    if request.dry_run and request.steering:
        raise UsageError("--dry-run applies to 'promote canary|stable'")
    if request.target != "canary" and (request.image or request.command or request.version):
        raise UsageError("--image, --command and --version apply to 'promote canary'")


# The option that sets each manifest field a runtime may start its artifact from.
_ARTIFACT_OPTIONS = {("services", "image"): "--image", ("local", "command"): "--command"}


def check_artifact_option(request: PromoteRequest, runtime: Runtime) -> None:
    """Refuse --image or --command where the runtime never runs the field it sets: it
    would be written into the manifest, and the canary would start from something else."""
    given = {("services", "image"): request.image, ("local", "command"): request.command}
    wanted = _ARTIFACT_OPTIONS[runtime.artifact_field]
    for field, value in given.items():
        option = _ARTIFACT_OPTIONS[field]
        if value and option != wanted:
            raise UsageError(
                f"{option} does not apply to the {runtime.name} runtime, which runs "
                f"{'.'.join(runtime.artifact_field)}: use {wanted}"
            )


def release_edits(request: PromoteRequest) -> dict[tuple[str, str], object]:
    """The manifest values `--image` / `--command` / `--version` set."""
    edits: dict[tuple[str, str], object] = {}
    if request.image:
        edits["services", "image"] = request.image
    if request.command:
        edits["local", "command"] = list(request.command)
    if request.version:
        edits["services", "version"] = request.version
    return edits


def progressive(deployment: Deployment, request: PromoteRequest) -> bool:
    """`promote canary` walks the steps when asked to, or when canary.steps are set."""
    return request.target == "canary" and (
        request.progressive or bool(deployment.manifest.canary.steps)
    )


def promote(deployment: Deployment, request: PromoteRequest) -> Outcome | Plan:
    """Carry out (or, with dry_run, plan) one `promote` request."""
    check(request)
    check_artifact_option(request, deployment.runtime)
    if request.dry_run:
        from swiftdeploy.plan import plan_promote_canary, plan_promote_stable

        if request.target == "canary":
            return plan_promote_canary(deployment, release_edits(request))
        return plan_promote_stable(deployment, request.window_s)
    if request.steering:
        from swiftdeploy.rollout import control

        return control(deployment, request.control or "set-weight", request.set_weight)
    if request.target == "canary":
        # One implementation of a rollout step for both: the one-shot canary is the
        # single-step case, which nothing walks (see rollout.single_step).
        from swiftdeploy.rollout import Runner, single_step

        edits = release_edits(request)
        if edits:
            # Resolved first (a missing image or command is refused before anything changes), then
            # written: the manifest is the desired release, and the canary starts from it.
            desired_after(deployment, edits)
            deployment.set_release(edits)
        if progressive(deployment, request):
            return Runner(deployment).run(version=request.version)
        return single_step(deployment, version=request.version)
    from swiftdeploy.release import promote_stable

    return promote_stable(deployment, window_s=request.window_s)
