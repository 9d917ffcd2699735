"""App containers a killed command started before their id reached the state (compose, swarm).

They are named by what they run: the image ID the container was created from (`docker
inspect`'s `.Image`, whatever a tag names now), the reference it was created with
(`.Config.Image`: the pinned ID itself when SwiftDeploy started it) and the APP_VERSION it was
given. A container that does not say all three runs an artifact nobody can name: recorded as
unknown (`artifact: None`). A canary's is recorded under no track pointer, so the lifecycle's
reconcile stops it; the stable service's is the stable track once no recorded stable runs
(`take_stable`): the interrupted command had already replaced the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from swiftdeploy.artifact import Artifact
from swiftdeploy.runtime import docker
from swiftdeploy.state import DeploymentState, InstanceRecord, Track


def adopt(
    state: DeploymentState,
    containers: Iterable[str],
    *,
    address: str,
    track: Track = "canary",
    instance_env: str | None = None,
) -> list[str]:
    """Record each running container of `containers` that the state does not name, as an
    instance of `track`; return the ids recorded.

    `instance_env` names the variable carrying the instance id the runtime gave it (swarm);
    without one (compose), the record is named after the container.
    """
    adopted: list[str] = []
    known = {record.container for record in state.instances.values()}
    for container in containers:
        info = docker.inspect(container)
        if info is None or str(info.get("Id", "")) in known:
            continue
        record = orphan_record(
            info,
            address=address,
            track=track,
            instance_env=instance_env,
            taken=set(state.instances),
        )
        if record is not None:
            state.instances[record.id] = record
            known.add(record.container)
            adopted.append(record.id)
    return adopted


def adopt_unsaved(
    state: DeploymentState,
    services: Mapping[Track, str],
    containers_of: Callable[[str], Iterable[str]],
    *,
    port: int,
    instance_env: str | None = None,
) -> None:
    """After an interrupted command: adopt each track's service's unrecorded containers
    (`containers_of(service)` lists its running ones), the stable one per take_stable."""
    for track, service in services.items():
        found = adopt(
            state,
            containers_of(service),
            address=f"{service}:{port}",
            track=track,
            instance_env=instance_env,
        )
        if track == "stable":
            take_stable(state, found)


def take_stable(state: DeploymentState, adopted: list[str]) -> None:
    """The stable service's one unrecorded container is the stable track when no recorded
    stable runs: a killed command replaced the old one (promote stable, deploy) before it
    could save the new one. More than one cannot be told apart: reconcile stops them."""
    if state.stable is None and len(adopted) == 1:
        state.stable = adopted[0]


def orphan_record(
    info: Mapping[str, Any],
    *,
    address: str,
    track: Track = "canary",
    instance_env: str | None = None,
    taken: set[str] | None = None,
) -> InstanceRecord | None:
    """The record of one inspected container; None when it does not run."""
    container = str(info.get("Id") or "")
    run = info.get("State")
    if not container or not isinstance(run, dict) or not run.get("Running"):
        return None
    config = info.get("Config")
    config = config if isinstance(config, dict) else {}
    pairs = [str(item).partition("=") for item in config.get("Env") or []]
    env = {key: value for key, _, value in pairs}
    instance_id = env.get(instance_env, "") if instance_env else ""
    if not instance_id or instance_id in (taken or set()):
        instance_id = f"orphan-{container[:12]}"
    version = env.get("APP_VERSION", "")
    image_id, ref = str(info.get("Image") or ""), str(config.get("Image") or "")
    artifact = None
    if image_id.startswith("sha256:") and ref and version:
        artifact = Artifact("image", ref, image_id, version).as_dict()
    return InstanceRecord(
        id=instance_id,
        track=track,
        mode="canary" if env.get("MODE") == "canary" else "stable",
        version=version or "unknown",
        pid=int(run.get("Pid") or 0),
        address=address,
        log=f"docker logs {container[:12]}",
        container=container,
        artifact=artifact,
    )
