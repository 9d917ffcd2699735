"""The collector's persisted series: an append-only journal of checksummed records.

Each line is `<crc32 of the JSON, 8 hex digits> <JSON>\\n`. A record holds the rows that
changed since the previous one (absolute values, so a replay is idempotent), the running
totals, and the log file offset they account for: after a restart the collector resumes
the log exactly there, so nothing is counted twice and nothing between the last record and
the restart is lost while the log file still holds it.

Torn tail: reading stops at the first line that is incomplete or fails its checksum;
`open_for_append` truncates the file there first. A failed append (a full disk) is cut
back to the last good record, and its rows stay pending for the next one, so a full disk
delays the journal but never corrupts it. When the file outgrows COMPACT_FACTOR times its
last snapshot (plus a floor), it is replaced atomically by one snapshot record.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write

VERSION = 1
FILENAME = "series.journal"
COMPACT_FACTOR = 2
COMPACT_FLOOR = 1 << 20  # 1 MiB: never compact a small journal


def encode(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode(line: bytes) -> dict[str, Any] | None:
    """The record of one complete line, or None when it is torn or corrupt."""
    if len(line) < 11 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("v") != VERSION:
        return None
    return record


@dataclass(frozen=True)
class Loaded:
    records: list[dict[str, Any]]
    good_bytes: int  # the length of the valid prefix
    torn_bytes: int  # what follows it (0 for a clean file)
    first_bytes: int = 0  # the first record: the last compaction's snapshot


def read(path: Path) -> Loaded:
    """Every valid record of the journal, up to the first torn or corrupt line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Loaded([], 0, 0)
    records: list[dict[str, Any]] = []
    good = first = 0
    for line in _lines(data):
        record = decode(line)
        if record is None:
            break
        records.append(record)
        good += len(line)
        first = first or len(line)
    return Loaded(records, good, len(data) - good, first)


def _lines(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            yield data[start:]
            return
        yield data[start : end + 1]
        start = end + 1


class Journal:
    """Append records to path; repair a torn tail first; compact by atomic rewrite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        loaded = read(path)
        self.loaded = loaded
        self.size = loaded.good_bytes
        self.snapshot_bytes = loaded.first_bytes
        self.append_errors = 0
        if loaded.torn_bytes:
            self._truncate()

    def _truncate(self) -> None:
        with contextlib.suppress(FileNotFoundError), open(self.path, "r+b") as handle:
            handle.truncate(self.size)
            os.fsync(handle.fileno())

    def append(self, record: dict[str, Any]) -> bool:
        """Append one record durably; False (the file unchanged) when the write failed."""
        line = encode(record)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size != self.size:
                    os.ftruncate(fd, self.size)  # a previous failed append left bytes behind
                written = os.pwrite(fd, line, self.size)
                if written != len(line):
                    raise OSError(f"short write: {written} of {len(line)} bytes")
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self.size)
                raise
            finally:
                os.close(fd)
        except OSError:
            self.append_errors += 1
            return False
        self.size += len(line)
        return True

    def needs_compaction(self) -> bool:
        return self.size > max(COMPACT_FLOOR, COMPACT_FACTOR * self.snapshot_bytes)

    def compact(self, snapshot: dict[str, Any]) -> bool:
        """Replace the journal with one snapshot record (atomically); False if that failed."""
        line = encode(snapshot)
        try:
            atomic_write(self.path, line)
        except OSError:
            self.append_errors += 1
            return False
        self.size = self.snapshot_bytes = len(line)
        return True
