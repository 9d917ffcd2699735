"""`init`: render nginx.conf and docker-compose.yml beside the manifest, seed policies/.

Rendering is deterministic (same manifest bytes → same files) and all-or-nothing
(files.atomic_write_many), so a failure never leaves a half-updated set.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from swiftdeploy.errors import ManifestError
from swiftdeploy.files import atomic_write, atomic_write_many
from swiftdeploy.manifest import Manifest, manifest_digest, parse_manifest, read_manifest_bytes
from swiftdeploy.project import Project


@dataclass(frozen=True)
class InitResult:
    project: Project
    wrote_starter: bool = False
    generated: list[Path] = field(default_factory=list)  # rendered files, in a stable order
    changed: list[Path] = field(default_factory=list)  # of those, the ones that were rewritten
    copied_policies: bool = False
    drift: dict[Path, str] = field(default_factory=dict)  # --check: path -> unified diff


def starter_manifest() -> str:
    return (resources.files("swiftdeploy") / "templates" / "manifest.yaml").read_text("utf-8")


def expected_files(project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
    """Every generated file and the exact text it should have (the runtime says which)."""
    from swiftdeploy.runtime import runtime_class

    return runtime_class(manifest.runtime).generated_files(project, manifest, digest)


def render_project(
    project: Project, manifest: Manifest, *, digest: str | None = None
) -> list[Path]:
    """Write the generated files that differ from their rendering; return those rewritten."""
    if digest is None:
        digest = manifest_digest(project.manifest_path)
    wanted = expected_files(project, manifest, digest)
    stale = {path: text for path, text in wanted.items() if _current(path) != text}
    if stale:
        atomic_write_many(stale)
    return list(stale)


def init_project(manifest_path: Path, *, check: bool = False) -> InitResult:
    """Run `init` (or, with check, only compare the files on disk with their rendering)."""
    project = Project.at(manifest_path)
    wrote_starter = False
    if not project.manifest_path.exists():
        if check:
            raise ManifestError(
                f"{manifest_path}: manifest not found", problems=[f"{manifest_path}: not found"]
            )
        atomic_write(project.manifest_path, starter_manifest())
        wrote_starter = True
    data = read_manifest_bytes(project.manifest_path)
    manifest = parse_manifest(data, str(manifest_path))
    digest = hashlib.sha256(data).hexdigest()
    wanted = expected_files(project, manifest, digest)
    if check:
        drift = {
            path: _diff(path, _current(path) or "", text)
            for path, text in wanted.items()
            if _current(path) != text
        }
        return InitResult(project, generated=list(wanted), drift=drift)
    changed = render_project(project, manifest, digest=digest)
    copied = copy_default_policies(project.policies_dir)
    return InitResult(
        project,
        wrote_starter=wrote_starter,
        generated=list(wanted),
        changed=changed,
        copied_policies=copied,
    )


def default_policies() -> Traversable | None:
    # Located through the top-level package so that importing swiftdeploy.policy
    # (and its engines) is not needed just to copy files.
    folder = resources.files("swiftdeploy") / "policy" / "defaults"
    return folder if folder.is_dir() else None


def copy_default_policies(destination: Path) -> bool:
    """Copy the shipped policies when `destination` is missing; never overwrite edits."""
    source = default_policies()
    if source is None or destination.exists():
        return False
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".policies."))
    try:
        _copy_tree(source, staging)
        # One rename, so policies/ appears complete or not at all.
        os.rename(staging, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
        raise
    return True


def _copy_tree(source: Traversable, destination: Path) -> None:
    for entry in sorted(source.iterdir(), key=lambda item: item.name):
        if entry.name.startswith((".", "__pycache__")):
            continue
        target = destination / entry.name
        if entry.is_dir():
            target.mkdir(mode=0o755)
            _copy_tree(entry, target)
        else:
            target.write_bytes(entry.read_bytes())
            target.chmod(0o644)
    destination.chmod(0o755)


def _current(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _diff(path: Path, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{path.name} (on disk)",
            tofile=f"{path.name} (from manifest)",
        )
    )
