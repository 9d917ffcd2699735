"""What it takes to start one local instance again: `.swiftdeploy/instances/<id>.json`.

Written by `start_instance` before the instance's pid reaches the state, removed by
`stop_instance`; the supervisor reads it to respawn an instance that exited with the very
same argv, environment and socket path, so nginx's symlinks keep pointing at it. It also
names the track and the artifact the instance was started for, so a process whose pid a
killed command never saved is still named by what it runs (orphans.py). The environment
may carry the canary's chaos token: the file is 0600, like the state.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from swiftdeploy.files import atomic_write

FOLDER = "instances"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    log: str
    socket: str
    track: str = ""  # absent in launch files written before orphans were named by them
    artifact: dict[str, str] | None = None  # Artifact.as_dict() of what argv runs


def path_for(state_dir: Path, instance_id: str) -> Path:
    return state_dir / FOLDER / f"{instance_id}.json"


def write(state_dir: Path, instance_id: str, launch: Launch) -> None:
    folder = state_dir / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    atomic_write(path_for(state_dir, instance_id), json.dumps(asdict(launch)) + "\n", mode=0o600)


def read(state_dir: Path, instance_id: str) -> Launch | None:
    """The launch of instance_id; None when it has none or it cannot be read."""
    try:
        data = json.loads(path_for(state_dir, instance_id).read_text(encoding="utf-8"))
        launch = Launch(
            argv=[str(part) for part in data["argv"]],
            env={str(key): str(value) for key, value in data["env"].items()},
            log=str(data["log"]),
            socket=str(data["socket"]),
            track=str(data.get("track", "")),
            artifact=_artifact(data.get("artifact")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return launch if launch.argv else None


def _artifact(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(key): str(item) for key, item in value.items()}


def remove(state_dir: Path, instance_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        path_for(state_dir, instance_id).unlink()
