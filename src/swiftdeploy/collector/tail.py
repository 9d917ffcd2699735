"""Follow nginx's collector log file: complete lines, in order, from a saved offset.

nginx appends each line with one write(2) to a file opened O_APPEND, so lines of
concurrent workers never interleave; a reader may still see a line whose end is not
written yet, which is kept back until its newline arrives. Rotation is followed like
`tail -F`: the old file is read to its end before the new one is opened; a file that
shrank (copytruncate) is read again from its start.

Disk: the collector's log only needs the bytes not yet accounted for by the journal, so
`reclaim(offset)` punches a hole over what precedes `offset` (fallocate PUNCH_HOLE, on
ext4, xfs, btrfs and tmpfs): the file keeps its length and nginx its descriptor, but the
blocks are freed. Where that is unsupported the operator's logrotate bounds the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from pathlib import Path

from swiftdeploy.collector.record import MAX_LINE

READ_CHUNK = 1 << 20
_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_BLOCK = 4096

FileId = tuple[int, int]  # (st_dev, st_ino)


class LogTail:
    def __init__(self, path: Path, *, offset: int = 0, file_id: FileId | None = None) -> None:
        self.path = path
        self.fd: int | None = None
        self.file_id = file_id
        self.position = offset  # bytes consumed from the file, partial line included
        self.partial = b""
        self.oversized = 0  # lines dropped for being longer than MAX_LINE
        self.continuity_lost = False  # the saved offset could not be resumed
        self.reclaimed = 0
        self.reclaim_supported = True

    @property
    def offset(self) -> int:
        """Where the next complete line starts: what a checkpoint must store."""
        return self.position - len(self.partial)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except PermissionError:
            fd = os.open(self.path, os.O_RDONLY)  # read-only: no reclaiming, still correct
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        file_id = (st.st_dev, st.st_ino)
        if file_id != self.file_id or st.st_size < self.position:
            if self.file_id is not None and self.position > 0:
                self.continuity_lost = True
            self.position = 0
            self.partial = b""
            self.reclaimed = 0
        self.file_id = file_id
        self.fd = fd
        return True

    def read(self, limit: int = READ_CHUNK) -> tuple[list[bytes], bool]:
        """(complete lines read, reached the end of the current file).

        At most about `limit` bytes per call: the caller holds its lock while it ingests
        them, and a query or a scrape must not wait behind a backlog of millions of lines.
        """
        if self.fd is None and not self._open():
            return [], True
        assert self.fd is not None
        if os.fstat(self.fd).st_size < self.position:  # truncated in place
            self.position = 0
            self.partial = b""
            self.reclaimed = 0
        lines: list[bytes] = []
        consumed = 0
        while True:
            if consumed >= limit:
                return lines, False  # more may follow: the caller comes back at once
            chunk = os.pread(self.fd, READ_CHUNK, self.position)
            if not chunk:
                break
            self.position += len(chunk)
            consumed += len(chunk)
            self._split(self.partial + chunk, lines)
        if self._rotated():
            self.close()
            if self.partial:
                lines.append(self.partial)  # the old file ended without a newline: torn
                self.partial = b""
            self.position = 0
            self.reclaimed = 0
            self.file_id = None
        return lines, True

    def _split(self, data: bytes, lines: list[bytes]) -> None:
        parts = data.split(b"\n")
        self.partial = parts.pop()
        lines.extend(parts)
        if len(self.partial) > MAX_LINE:
            self.partial = b""
            self.oversized += 1

    def _rotated(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # moved away and not recreated yet: keep the old one
        return (st.st_dev, st.st_ino) != self.file_id

    def reclaim(self, offset: int) -> None:
        """Free the disk blocks of the current file before offset (already accounted for)."""
        end = (offset // _BLOCK) * _BLOCK
        if self.fd is None or not self.reclaim_supported or end <= self.reclaimed:
            return
        if _fallocate is None:
            self.reclaim_supported = False
            return
        flags = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
        if _fallocate(self.fd, flags, ctypes.c_int64(0), ctypes.c_int64(end)) != 0:
            self.reclaim_supported = False  # EOPNOTSUPP, or a read-only descriptor
            return
        self.reclaimed = end


def _load_fallocate() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.fallocate
        function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
        function.restype = ctypes.c_int
        return function
    return None


_fallocate = _load_fallocate()
