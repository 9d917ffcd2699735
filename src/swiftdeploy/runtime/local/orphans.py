"""Instances a killed command spawned before their pid reached the state, found again.

They are found by the socket path in their environment (every instance's lies in the
project's run folder) and recorded under no track pointer, so the lifecycle's reconcile
stops them. What one runs is taken from its launch file, which `start_instance` writes
before the spawn, but only for the process that file launched: its environment carries the
file's socket, version and mode, and when it runs the artifact's executable itself (not a
script through the interpreter its first line names) the bytes it runs (`/proc/<pid>/exe`,
the file it was started from even if replaced since) hash to the recorded id. Anything
else runs an artifact nobody can name: recorded as unknown (`artifact: None`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import psutil

from swiftdeploy.artifact import Artifact, ArtifactMissing, file_id
from swiftdeploy.clock import iso_utc
from swiftdeploy.errors import StateError
from swiftdeploy.runtime.local import launch
from swiftdeploy.state import DeploymentState, InstanceRecord

# The variables start_instance sets for an instance: the ones that tie a process to its launch.
_IDENTITY = ("APP_SOCKET", "APP_VERSION", "MODE")


def adopt(state: DeploymentState, *, run_dir: Path, state_dir: Path) -> None:
    """Add a record for each instance process of this project that the state does not name."""
    known = {record.address.removeprefix("unix:") for record in state.instances.values()}
    prefix = f"{run_dir}{os.sep}"
    found: dict[int, tuple[psutil.Process, int, dict[str, str]]] = {}
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if env.get("APP_SOCKET", "").startswith(prefix):
                found[proc.pid] = (proc, proc.ppid(), env)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for proc, ppid, env in found.values():
        socket = env["APP_SOCKET"]
        if ppid in found or socket in known:
            continue  # a server's worker goes with its parent; known ones are tracked
        record = _record(proc, env, state_dir, taken=set(state.instances))
        state.instances[record.id] = record
        known.add(socket)


def _record(
    proc: psutil.Process, env: dict[str, str], state_dir: Path, *, taken: set[str]
) -> InstanceRecord:
    socket = env["APP_SOCKET"]
    instance_id = Path(socket).stem  # start_instance names the socket after the instance
    spec = launch.read(state_dir, instance_id)
    if spec is None or instance_id in taken or not _launched_by(spec, env):
        spec, instance_id = None, f"orphan-{proc.pid}"
    return InstanceRecord(
        id=instance_id,
        track="stable" if spec is not None and spec.track == "stable" else "canary",
        mode="canary" if env.get("MODE") == "canary" else "stable",
        version=env.get("APP_VERSION", "unknown"),
        pid=proc.pid,
        address=f"unix:{socket}",
        log=spec.log if spec is not None else "",
        started_at=_started(proc),
        artifact=_running(proc, spec),
    )


def _launched_by(spec: launch.Launch, env: dict[str, str]) -> bool:
    return spec.socket == env["APP_SOCKET"] and all(
        spec.env.get(name) == env.get(name) for name in _IDENTITY
    )


def _running(proc: psutil.Process, spec: launch.Launch | None) -> dict[str, str] | None:
    """The launch's artifact if the process demonstrably runs it, else None (unknown)."""
    if spec is None or spec.artifact is None:
        return None
    try:
        artifact = Artifact.from_dict(spec.artifact, where="launch file")
        if artifact.kind != "command" or artifact.version != spec.env.get("APP_VERSION"):
            return None
        executable = os.path.realpath(proc.exe())
        if executable != artifact.executable:
            # A script runs through its interpreter: the launch and the environment are
            # what identify it; there are no other bytes of the process to compare.
            return artifact.as_dict()
        return artifact.as_dict() if file_id(Path(f"/proc/{proc.pid}/exe")) == artifact.id else None
    except (StateError, ArtifactMissing, psutil.Error, OSError):
        return None


def _started(proc: psutil.Process) -> str:
    try:
        created = datetime.fromtimestamp(proc.create_time(), UTC)
    except psutil.Error:
        return ""
    return iso_utc(created, timespec="microseconds")
