"""history.jsonl: an append-only, hash-chained event log that survives crashes and races.

Each line is one JSON object: ts, seq, type, the payload's fields, prev (the previous line's
hash, 64 zeros for the first) and hash = SHA-256 of the canonical JSON of the line without
`hash`. Writers serialise on an flock'd sidecar file, so several processes can append at once.
The sidecar also remembers the head (last seq and hash) so `verify` can tell when whole lines
were cut off the end, which a chain alone cannot show.

The chain alone cannot stop someone who can write the file: they can edit an event and
recompute every hash after it. An outside anchor can: `chain_head()` is (seq, hash) of the
last line; every `anchor_every` events it is handed to `on_anchor` (the webhooks get it), and
`audit --head` prints it. `verify(anchor=head)` then checks that the file still holds that
exact line, which a rewritten history cannot, since its hashes all changed.

A reserve file beside it (`.history.jsonl.reserve`, 64 KiB) keeps room for the history
on a disk that fills up while a command runs: an append that finds no space frees the
reserve and writes again, so an action that happened is never missing from the trail.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swiftdeploy.errors import DiskFull, HistoryError

Anchor = tuple[int, str]  # (seq, hash) of one line: the chain head at some moment
ANCHOR_EVERY = 50

RESERVE_BYTES = 64 * 1024
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
GENESIS = "0" * 64
RESERVED = frozenset({"ts", "seq", "type", "prev", "hash"})
_CHUNK = 8192


def canonical(event: Mapping[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_ts(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds; fixed width, so strings sort like the instants."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    """Accept any RFC 3339 timestamp (Z or offset); naive ones are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise HistoryError(f"not an RFC 3339 timestamp: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_event(
    seq: int, prev: str, type_: str, payload: Mapping[str, Any], ts: str
) -> tuple[dict[str, Any], bytes]:
    """The event and its exact line; shared by append and the benchmark's generator."""
    clash = RESERVED.intersection(payload)
    if clash:
        raise HistoryError(f"payload uses reserved history keys: {', '.join(sorted(clash))}")
    event: dict[str, Any] = {**payload, "ts": ts, "seq": seq, "type": type_, "prev": prev}
    try:
        body = canonical(event)
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"{type_} event is not JSON-serialisable: {exc}") from exc
    digest = hashlib.sha256(body.encode()).hexdigest()
    event["hash"] = digest
    # The hash field goes last so a verifier can hash the line's own bytes up to it.
    return event, (body[:-1] + f',"hash":"{digest}"}}\n').encode()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad_line: int | None = None
    problem: str = ""


class History:
    def __init__(
        self,
        path: Path,
        *,
        anchor_every: int = ANCHOR_EVERY,
        on_anchor: Callable[[Anchor], object] | None = None,
    ) -> None:
        self.path = Path(path)
        self.anchor_every = anchor_every
        self.on_anchor = on_anchor
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.reserve_path = self.path.with_name(f".{self.path.name}.reserve")
        self.skipped = 0  # unreadable lines passed over by the last events() call

    def _require_regular_file(self) -> None:
        """HistoryError when the history exists but is a folder, FIFO or device.

        Opening a FIFO blocks and a device never ends: refuse them before any read or write.
        """
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise HistoryError(f"{self.path.name}: cannot read: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
            raise HistoryError(
                f"{self.path.name}: not a regular file ({kind})",
                hint=f"move {self.path} aside; the history is an append-only file",
            )

    # -- writing ---------------------------------------------------------------------------

    def ensure_reserve(self, *, required: bool = True) -> None:
        """Set RESERVE_BYTES aside for the history; DiskFull (if required) when impossible."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.reserve_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < RESERVE_BYTES:
                    os.posix_fallocate(fd, 0, RESERVE_BYTES)
            finally:
                os.close(fd)
        except OSError as exc:
            if required and exc.errno in _NO_SPACE:
                raise DiskFull(
                    f"disk full: cannot keep room for {self.path.name} ({exc.strerror}); "
                    "nothing was changed",
                    hint="free some space on that filesystem, then run the command again",
                ) from None

    def _maybe_anchor(self, event: Mapping[str, Any]) -> None:
        """Every anchor_every events, hand the head out; a failing receiver never fails us."""
        if self.on_anchor is None or (event["seq"] + 1) % self.anchor_every:
            return
        with contextlib.suppress(Exception):
            self.on_anchor((event["seq"], event["hash"]))

    def _release_reserve(self) -> bool:
        try:
            os.unlink(self.reserve_path)
        except OSError:
            return False
        return True

    def append(self, type: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Append one event atomically with respect to other writers; return it."""
        type_ = type
        payload = dict(payload or {})
        make_event(0, GENESIS, type_, payload, format_ts(datetime.now(UTC)))  # fail fast
        self._require_regular_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                seq, prev, torn = self._tail(fd)
                if torn is not None:
                    offset, dropped = torn
                    repair = {
                        "dropped_b64": base64.b64encode(dropped).decode(),
                        "dropped_bytes": len(dropped),
                        "offset": offset,
                        "reason": "torn last line (crash during a write?)",
                    }
                    os.ftruncate(fd, offset)
                    repaired, _ = self._write(fd, seq, prev, "history_repair", repair)
                    seq, prev = seq + 1, repaired["hash"]
                try:
                    event, _ = self._write(fd, seq, prev, type_, payload)
                except DiskFull:
                    if not self._release_reserve():
                        raise
                    event, _ = self._write(fd, seq, prev, type_, payload)
            finally:
                os.close(fd)
            with contextlib.suppress(OSError):  # the head is a hint; the chain is the truth
                head = f"{event['seq']} {event['hash']}\n".encode()
                os.ftruncate(lock_fd, 0)
                os.pwrite(lock_fd, head, 0)
            self._maybe_anchor(event)
            return event
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise DiskFull(
                    f"disk full: cannot append to {self.path.name}: {exc.strerror}; "
                    "history left unchanged"
                ) from None
            raise HistoryError(f"cannot append to {self.path}: {exc.strerror or exc}") from exc
        finally:
            os.close(lock_fd)  # closing releases the flock

    def _write(
        self, fd: int, seq: int, prev: str, type_: str, payload: Mapping[str, Any]
    ) -> tuple[dict[str, Any], bytes]:
        event, line = make_event(seq, prev, type_, payload, format_ts(datetime.now(UTC)))
        size = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            # Leave the file exactly as it was so the chain stays intact (e.g. disk full).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            if exc.errno in _NO_SPACE:
                raise DiskFull(
                    f"disk full: cannot append to {self.path.name}: {exc.strerror}; "
                    "history left unchanged",
                    hint="free some space on that filesystem, then run the command again",
                ) from None
            raise HistoryError(
                f"cannot write to {self.path}: {exc.strerror or exc}; history left unchanged"
            ) from exc
        return event, line

    def _tail(self, fd: int) -> tuple[int, str, tuple[int, bytes] | None]:
        """(next seq, prev hash, torn tail as (offset, bytes) or None), reading from the end."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, GENESIS, None
        start, line = _last_line(fd, size)
        last = _decode(line) if line.endswith(b"\n") else None
        if last is not None:
            return last["seq"] + 1, last["hash"], None
        torn = (start, line)
        if start == 0:
            return 0, GENESIS, torn
        # Only the last line can be torn by a crash; anything worse is damage that must be
        # investigated, not papered over by truncating more.
        before = _decode(_last_line(fd, start)[1])
        if before is None:
            raise HistoryError(
                f"{self.path} is damaged before its last line; refusing to append",
                hint="run `swiftdeploy audit --verify` to find the bad line",
            )
        return before["seq"] + 1, before["hash"], torn

    # -- reading ---------------------------------------------------------------------------

    def events(
        self, since: datetime | str | None = None, until: datetime | str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stream events (one line in memory at a time), optionally within [since, until]."""
        low = _bound(since)
        high = _bound(until)
        self.skipped = 0
        self._require_regular_file()
        try:
            handle = self.path.open(encoding="utf-8", errors="replace", newline="\n")
        except FileNotFoundError:
            return
        with handle:
            # The decoder's bound method on str skips json.loads's per-call encoding sniffing,
            # a measurable share of a million-line audit.
            loads = json.JSONDecoder().decode
            for raw in handle:
                try:
                    event = loads(raw)
                except ValueError:
                    self.skipped += 1
                    continue
                if not isinstance(event, dict):
                    self.skipped += 1
                    continue
                ts = event.get("ts", "")
                if (low is not None and ts < low) or (high is not None and ts > high):
                    continue
                yield event

    def head(self) -> tuple[int, str] | None:
        """The (seq, hash) the last successful append recorded, if known."""
        try:
            seq, digest = self.lock_path.read_text().split()
            return int(seq), digest
        except (OSError, ValueError):
            return None

    def chain_head(self) -> Anchor | None:
        """(seq, hash) of the file's last complete line, or None for an empty history."""
        self._require_regular_file()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HistoryError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return None
            last = _decode(_last_line(fd, size)[1])
        finally:
            os.close(fd)
        if last is None:
            raise HistoryError(
                f"{self.path.name}: the last line is not a history event",
                hint="run `swiftdeploy audit --verify` to find the bad line",
            )
        return int(last["seq"]), str(last["hash"])

    def verify(self, anchor: Anchor | None = None) -> VerifyResult:
        """Check every line's hash, seq and prev; name the first line that is wrong.

        With anchor (a head kept outside this host), also check that the line with that
        seq still has that hash: a history rewritten and re-chained since cannot.
        Verifies the file as it was when the call began: lines appended meanwhile are
        left for the next run rather than mistaken for a torn write.
        """
        self._require_regular_file()
        size, head = self._snapshot()
        count = 0
        prev = GENESIS
        anchored: str | None = None
        if size:
            with self.path.open("rb") as handle:
                consumed = 0
                for number, line in enumerate(handle, start=1):
                    problem, prev = _check_line(line, count, prev)
                    if problem:
                        return VerifyResult(False, count, number, f"line {number}: {problem}")
                    if anchor is not None and count == anchor[0]:
                        anchored = prev
                    count += 1
                    consumed += len(line)
                    if consumed >= size:
                        break
        if head is not None and head[0] >= count:
            return VerifyResult(
                False,
                count,
                count + 1,
                f"line {count + 1}: missing — the last append wrote seq {head[0]}, "
                f"but the file ends after seq {count - 1} (lines cut off the end)",
            )
        if anchor is not None and anchored != anchor[1]:
            seq, digest = anchor
            if anchored is None:
                problem = f"the anchored head seq {seq} is past the end (lines cut off the end)"
            else:
                problem = (
                    f"line {seq + 1}: seq {seq} has hash {anchored[:12]}…, the anchored head "
                    f"says {digest[:12]}… (the history was rewritten since the head was kept)"
                )
            return VerifyResult(False, min(count, seq), seq + 1, problem)
        return VerifyResult(ok=True, count=count)

    def _snapshot(self) -> tuple[int, tuple[int, str] | None]:
        """(file size, recorded head), read together while no append is half-done."""
        try:
            # Create the lock file if need be: without it, a writer starting right now could
            # create both files between our size and head reads, and look like a cut file.
            lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            lock_fd = -1
        try:
            if lock_fd >= 0:
                fcntl.flock(lock_fd, fcntl.LOCK_SH)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            return size, self.head()
        finally:
            if lock_fd >= 0:
                os.close(lock_fd)


# `,"hash":"` + 64 hex digits + `"}` + newline: the fixed tail make_event writes.
_HASH_TAIL = 9 + 64 + 3
_sha256 = hashlib.sha256
_DECODE = json.JSONDecoder().decode


def _check_line(line: bytes, seq: int, prev: str) -> tuple[str, str]:  # noqa: PLR0911
    """(problem or "", this line's hash)."""
    if not line.endswith(b"\n"):
        return "truncated (no trailing newline: torn write or cut file)", ""
    try:
        event = _DECODE(line.decode())
    except ValueError:  # UnicodeDecodeError included
        return "not valid JSON (edited or truncated)", ""
    if not isinstance(event, dict) or not isinstance(event.get("hash"), str):
        return "not a history event (no hash)", ""
    digest: str = event.pop("hash")
    # Fast path: make_event writes the canonical body followed by the hash, so the line's
    # own bytes can be hashed without re-encoding. Anything else gets the canonical check.
    fast = line[-_HASH_TAIL:] == f',"hash":"{digest}"}}\n'.encode() and (
        _sha256(line[:-_HASH_TAIL] + b"}").hexdigest() == digest
    )
    if not fast and canonical_hash(event) != digest:
        return "edited (content does not match its hash)", digest
    got = event.get("seq")
    if got != seq:
        if isinstance(got, int) and got > seq:
            return f"seq {got} where {seq} was expected (line(s) removed or reordered)", digest
        return f"seq {got!r} where {seq} was expected (lines reordered or duplicated)", digest
    if event.get("prev") != prev:
        return "prev does not match the previous line's hash (line removed or edited)", digest
    return "", digest


def canonical_hash(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(event).encode()).hexdigest()


def _bound(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    return format_ts(parse_ts(value) if isinstance(value, str) else value)


def _last_line(fd: int, end: int) -> tuple[int, bytes]:
    """The line ending at byte `end` (its newline included) and where it starts."""
    search_end = end - 1  # skip the line's own trailing newline, if any
    pos = search_end
    while pos > 0:
        start = max(0, pos - _CHUNK)
        chunk = os.pread(fd, pos - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            begin = start + newline + 1
            return begin, os.pread(fd, end - begin, begin)
        pos = start
    return 0, os.pread(fd, end, 0)


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if (
        isinstance(event, dict)
        and isinstance(event.get("seq"), int)
        and isinstance(event.get("hash"), str)
    ):
        return event
    return None
