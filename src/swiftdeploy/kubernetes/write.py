"""Writing the rendered files beside the manifest: only what changed; stale ones of ours removed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from swiftdeploy.kubernetes.documents import render_kubernetes
from swiftdeploy.kubernetes.names import DEFAULT_NAMESPACE, GENERATED_NOTE, OWNED_FILE_RE, Traffic


def policy_files_for(root: Path) -> tuple[dict[str, str], str]:
    """(relative path -> text, digest) of the policies OPA should serve, tests excluded."""
    from swiftdeploy.policy.sources import policy_digest, policy_files

    files = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in policy_files(root)
    }
    return files, policy_digest(root)


@dataclass(frozen=True)
class RenderResult:
    out: Path
    written: list[Path]  # rewritten because they differed
    unchanged: list[Path]
    removed: list[Path]  # files of ours that the current rendering no longer produces


def write_kubernetes(
    manifest_path: Path,
    *,
    out: Path | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    traffic: Traffic = "nginx",
) -> RenderResult:
    """Render into `out` (default k8s/ beside the manifest), all files at once."""
    from swiftdeploy.files import atomic_write_many
    from swiftdeploy.manifest import parse_manifest, read_manifest_bytes
    from swiftdeploy.policy.sources import defaults_dir
    from swiftdeploy.project import Project

    project = Project.at(manifest_path)
    data = read_manifest_bytes(project.manifest_path)
    manifest = parse_manifest(data, str(manifest_path))
    policies_root = project.policies_dir if project.policies_dir.is_dir() else defaults_dir()
    policies, policy_digest = policy_files_for(policies_root)
    rendered = render_kubernetes(
        manifest,
        digest=hashlib.sha256(data).hexdigest(),
        policies=policies,
        policy_digest=policy_digest,
        namespace=namespace,
        traffic=traffic,
    )
    folder = out if out is not None else project.root / "k8s"
    wanted = {folder / name: text for name, text in rendered.items()}
    stale = {path: text for path, text in wanted.items() if _read(path) != text}
    if stale:
        atomic_write_many(stale)
    removed = []
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            text = _read(path) if OWNED_FILE_RE.fullmatch(path.name) else None
            if path not in wanted and text is not None and text.startswith(f"# {GENERATED_NOTE}"):
                path.unlink()
                removed.append(path)
    return RenderResult(
        out=folder,
        written=sorted(stale),
        unchanged=sorted(set(wanted) - set(stale)),
        removed=removed,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None
