"""What a release asks each track to run, beside what runs: the words and the comparisons
that deploy, promote, their plans and `status` share (no command's logic is here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swiftdeploy.artifact import Artifact
    from swiftdeploy.lifecycle import Deployment
    from swiftdeploy.manifest_edit import Edits
    from swiftdeploy.state import DeploymentState, InstanceRecord


def describe(record: InstanceRecord | None) -> str:
    """One line naming what an instance runs: its artifact, or (recorded before artifacts
    were) its version."""
    if record is None:
        return "nothing"
    pinned = record.pinned()
    return pinned.describe() if pinned is not None else f"version {record.version}"


def replaces(state: DeploymentState, desired: Artifact, mode: str) -> bool:
    """Does `deploy` replace stable: it runs a recorded artifact other than the manifest's,
    the manifest asks for stable mode (in canary mode, deploy starts the new artifact as a
    canary) and no canary runs (a canary is finished by `promote stable` or `rollback`)."""
    stable = state.stable_instance()
    pinned = stable.pinned() if stable is not None else None
    if pinned is None or state.canary is not None or mode != "stable":
        return False
    return not pinned.same_bits(desired)


def desired_after(deployment: Deployment, edits: Edits) -> Artifact:
    """The artifact the manifest would name with `edits`, resolved now (ArtifactMissing)."""
    from swiftdeploy.manifest import parse_manifest
    from swiftdeploy.manifest_edit import with_values

    project = deployment.project
    text = with_values(project.manifest_path.read_text(), edits)
    manifest = parse_manifest(text.encode(), str(project.manifest_path))
    runtime = type(deployment.runtime)(project, manifest)
    return runtime.artifact(manifest.services.version)
