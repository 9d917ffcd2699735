"""The stack file's interpolation variables for one `docker stack deploy`: what should run.

Every deploy sets all of them (the stack file is declarative): the replica counts, each
track's version, instance id and image. A track's image is the ID it was started with,
so re-tagging the manifest's reference never changes a running service's spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from swiftdeploy.artifact import Artifact
from swiftdeploy.manifest import Manifest
from swiftdeploy.runtime.compose.files import (
    CANARY_IMAGE_VAR,
    CANARY_VERSION_VAR,
    STABLE_IMAGE_VAR,
    STABLE_VERSION_VAR,
)
from swiftdeploy.runtime.compose.runtime import pinned_image
from swiftdeploy.runtime.swarm.files import (
    CANARY_INSTANCE_VAR,
    CANARY_REPLICAS_VAR,
    NGINX_REPLICAS_VAR,
    OPA_REPLICAS_VAR,
    STABLE_INSTANCE_VAR,
    STABLE_REPLICAS_VAR,
)
from swiftdeploy.state import DeploymentState, InstanceRecord


@dataclass(frozen=True)
class Starting:
    """The instance a deploy starts on one track (its id, version and artifact)."""

    track: str
    instance: str
    version: str
    artifact: Artifact | None


def stack_variables(
    state: DeploymentState,
    manifest: Manifest,
    replicas: dict[str, int | None],
    starting: Starting | None,
) -> dict[str, str]:
    """The variables: the state's, except the replicas given and the instance starting."""
    stable_rec, canary_rec = state.stable_instance(), state.canary_instance()

    def count(name: str, running: bool) -> str:
        wanted = replicas.get(name)
        return str(wanted if wanted is not None else int(running))

    def track(name: str, record: InstanceRecord | None) -> tuple[str, str, str] | None:
        """(version, instance, image) of the track: the instance starting, else the state's."""
        if starting is not None and starting.track == name:
            image = starting.artifact.pinned_ref if starting.artifact else manifest.services.image
            return starting.version, starting.instance, image
        if record is None:
            return None
        return record.version, record.id, pinned_image(record, manifest)

    stable = track("stable", stable_rec) or (manifest.services.version, "", manifest.services.image)
    # A stopped canary keeps stable's spec values, so scaling it to 0 changes nothing else.
    canary = track("canary", canary_rec) or (stable[0], "", stable[2])
    return {
        STABLE_REPLICAS_VAR: count("stable", stable_rec is not None),
        CANARY_REPLICAS_VAR: count("canary", canary_rec is not None),
        NGINX_REPLICAS_VAR: count("nginx", state.nginx is not None),
        OPA_REPLICAS_VAR: count("opa", state.opa is not None),
        STABLE_VERSION_VAR: stable[0],
        STABLE_INSTANCE_VAR: stable[1],
        STABLE_IMAGE_VAR: stable[2],
        CANARY_VERSION_VAR: canary[0],
        CANARY_INSTANCE_VAR: canary[1],
        CANARY_IMAGE_VAR: canary[2],
    }
