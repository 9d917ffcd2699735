"""Atomic file writes: a reader sees the old file or the new one, never half of either.

A write that finds the disk full raises DiskFull ("disk full: ...") and leaves the old
file in place; `ensure_free_space` lets a command refuse before it acts at all.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from swiftdeploy.errors import DiskFull

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# What one command may write at most (state, generated files, history events), with room
# to spare: below this, a command refuses before it changes anything.
MIN_FREE_BYTES = 1024 * 1024


def symlink_problem(path: Path) -> str | None:
    """Why path, a symlink, cannot be followed ("dangling symlink ...", "symlink loop"), or None."""
    if not os.path.islink(path):
        return None
    try:
        Path(path).resolve(strict=True)
    except FileNotFoundError:
        return f"dangling symlink (its target {os.readlink(path)} does not exist)"
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return "symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"cannot follow the symlink: {exc.strerror or exc}"
    return None


def disk_full(path: Path, exc: OSError, *, unchanged: bool = True) -> DiskFull:
    """The one-line DiskFull for a write to path that failed with exc."""
    tail = f"; {path.name} is unchanged" if unchanged else ""
    return DiskFull(
        f"disk full: cannot write {path}: {exc.strerror or exc}{tail}",
        hint="free some space on that filesystem, then run the command again",
    )


@contextlib.contextmanager
def no_space_is_disk_full(path: Path) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT raised inside the block into DiskFull naming path."""
    try:
        yield
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise disk_full(path, exc) from None
        raise


def ensure_free_space(folder: Path, *, need: int = MIN_FREE_BYTES) -> None:
    """Refuse (DiskFull) when folder's filesystem has less than `need` bytes free."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return  # cannot tell: the writes themselves will say
    free = stats.f_bavail * stats.f_frsize
    if free < need:
        raise DiskFull(
            f"disk full: {free // 1024} KiB free under {folder}, {need // 1024} KiB needed "
            "to record what the command does; nothing was changed",
            hint="free some space on that filesystem, then run the command again",
        )


def atomic_write(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write data to a temp file beside path, fsync it, then rename it over path."""
    with no_space_is_disk_full(path):
        _atomic_write(path, data, mode=mode)


def _atomic_write(path: Path, data: str | bytes, *, mode: int) -> None:
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def atomic_write_many(files: Mapping[Path, str | bytes], *, mode: int = 0o644) -> None:
    """Write a set of files so that an error leaves every old file in place.

    All contents are staged first; only when every temp file is written are they
    renamed into place, so a failure while writing changes nothing.
    """
    with no_space_is_disk_full(next(iter(files), Path("."))):
        _atomic_write_many(files, mode=mode)


def _atomic_write_many(files: Mapping[Path, str | bytes], *, mode: int) -> None:
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            payload = data.encode() if isinstance(data, str) else data
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp_name, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, mode)
    except BaseException:
        for tmp_name, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        raise
    for tmp_name, path in staged:
        os.replace(tmp_name, path)
    for folder in {path.parent for _, path in staged}:
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
