"""What a track runs, pinned: an image by its ID, or a command by its resolved executable.

The manifest names the *desired* artifact (`services.image`, or `local.command` for the
local runtime); what a track was started with is recorded as an `Artifact`, so re-tagging
`latest` or editing the manifest never changes what a running track is. Resolving fails
before anything changes, with one line naming what is missing.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from swiftdeploy import _process
from swiftdeploy.errors import StateError, UsageError

Kind = Literal["image", "command"]
# The demo service, when the manifest names no local.command: the interpreter running
# SwiftDeploy starts it, whatever its path on this host.
DEMO_REF = "python -m swiftdeploy.demo"
_HASH_CHUNK = 1 << 20


class ArtifactMissing(UsageError):
    """The image is not in the local Docker engine, or the command is not on PATH."""


@dataclass(frozen=True)
class Artifact:
    """One track's artifact: `ref` as the operator wrote it, `id` what it resolved to."""

    kind: Kind
    ref: str  # image reference, or the command line (shlex-joined, so it splits back)
    id: str  # sha256:… image ID, or sha256:… of the executable's bytes
    version: str
    executable: str = ""  # the command's resolved executable (empty for images)

    @property
    def short_id(self) -> str:
        """The 12 hex digits Docker shows (`docker images`)."""
        return self.id.removeprefix("sha256:")[:12]

    @property
    def pinned_ref(self) -> str:
        """What to start so the same bits run again: the image ID, or the command as given."""
        return self.id if self.kind == "image" else self.ref

    @property
    def argv(self) -> list[str]:
        """A command's argument list, as it was resolved (images have none)."""
        return shlex.split(self.ref) if self.kind == "command" else []

    def same_bits(self, other: Artifact | None) -> bool:
        """Would `other` run exactly this: same reference, same ID, same version."""
        return other is not None and (self.ref, self.id, self.version) == (
            other.ref,
            other.id,
            other.version,
        )

    def manifest_values(self) -> dict[tuple[str, str], object]:
        """The manifest values that describe this artifact as the desired release (for
        manifest_edit.set_values): services.image, or local.command (absent for the demo)."""
        values: dict[tuple[str, str], object] = {("services", "version"): self.version}
        if self.kind == "image":
            values["services", "image"] = self.ref
        else:
            values["local", "command"] = None if self.ref == DEMO_REF else self.argv
        return values

    def describe(self) -> str:
        """One line for status, history and reports: `app:1.1.0 (3fa2c1d4e5f6) v1.1.0`."""
        return f"{self.ref} ({self.short_id}) v{self.version}"

    def as_dict(self) -> dict[str, str]:
        data = {"kind": self.kind, "ref": self.ref, "id": self.id, "version": self.version}
        if self.executable:
            data["executable"] = self.executable
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, where: str) -> Artifact:
        """Read a recorded artifact back; anything malformed is a StateError naming `where`."""
        kind = data.get("kind")
        fields = {name: data.get(name) for name in ("ref", "id", "version")}
        executable = data.get("executable", "")
        if kind not in ("image", "command") or not all(
            isinstance(v, str) and v for v in fields.values()
        ):
            raise StateError(f"{where}: not a recorded artifact (kind, ref, id, version)")
        if not isinstance(executable, str):
            raise StateError(f"{where}: executable must be a string")
        return cls(
            kind=kind,
            ref=str(fields["ref"]),
            id=str(fields["id"]),
            version=str(fields["version"]),
            executable=executable,
        )


def resolve_image(reference: str, version: str, *, docker: str = "docker") -> Artifact:
    """The image as the local engine has it now; ArtifactMissing when it has not."""
    result = _process.run(
        [docker, "image", "inspect", "--format", "{{.Id}}", reference], timeout=30, check=False
    )
    image_id = result.stdout.strip()
    if result.returncode != 0 or not image_id.startswith("sha256:"):
        raise ArtifactMissing(
            f"image {reference} is not in the local Docker engine: build or load it first "
            "(docker build -t … / docker load)",
        )
    return Artifact(kind="image", ref=reference, id=image_id, version=version)


def resolve_command(
    argv: Sequence[str], version: str, *, path: str | None = None, cwd: Path | None = None
) -> Artifact:
    """The command's executable found as the runtime will find it, fingerprinted by content."""
    if not argv:
        raise ArtifactMissing("the command is empty")
    program = argv[0]
    search = path if path is not None else os.environ.get("PATH", os.defpath)
    if os.sep in program:
        candidate = Path(program) if cwd is None else cwd / program
        found = str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
    else:
        found = shutil.which(program, path=search)
    if found is None:
        raise ArtifactMissing(f"command {program} not found (on PATH, or not executable)")
    executable = os.path.realpath(found)
    return Artifact(
        kind="command",
        ref=shlex.join(argv),
        id=file_id(Path(executable)),
        version=version,
        executable=executable,
    )


def file_id(path: Path) -> str:
    """A command artifact's id: sha256 of the file's bytes (ArtifactMissing if unreadable)."""
    return f"sha256:{_file_sha256(path)}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise ArtifactMissing(f"command {path} cannot be read: {exc.strerror}") from exc
    return digest.hexdigest()
