"""What a local instance runs: the manifest's `local.command` (or the demo), pinned.

The artifact is resolved when a track starts (the executable found on PATH, fingerprinted
by its bytes) and recorded; a track that starts again runs its recorded command line, so
editing `local.command` changes only what the next canary runs.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from swiftdeploy.artifact import DEMO_REF, Artifact, resolve_command
from swiftdeploy.manifest import Manifest

_DEMO_ARGS = ["-m", "swiftdeploy.demo"]


def resolve(manifest: Manifest, root: Path, version: str) -> Artifact:
    """The manifest's command as an artifact; ArtifactMissing when it cannot be found."""
    command = manifest.local.command
    if not command:
        found = resolve_command([sys.executable, *_DEMO_ARGS], version)
        return dataclasses.replace(found, ref=DEMO_REF)
    return resolve_command(command, version, cwd=root)


def argv(artifact: Artifact | None, manifest: Manifest, socket_path: Path) -> list[str]:
    """The argument list to spawn: the pinned command, `{socket}` filled in."""
    if artifact is None:  # a caller that predates artifacts: the manifest's command
        command = manifest.local.command
        ref = DEMO_REF if not command else None
        parts = list(command or [])
    else:
        ref, parts = artifact.ref, artifact.argv
    if ref == DEMO_REF:
        return [sys.executable, *_DEMO_ARGS]
    return [part.replace("{socket}", str(socket_path)) for part in parts]
