from __future__ import annotations

import os
from pathlib import Path

from swiftdeploy.collector.tail import LogTail


def test_a_line_without_its_newline_waits_for_it(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    tail = LogTail(log)
    assert tail.read() == ([], True)  # not created yet
    log.write_bytes(b"one\ntw")
    assert tail.read() == ([b"one"], True)
    assert tail.offset == 4
    with log.open("ab") as handle:
        handle.write(b"o\nthree\n")
    assert tail.read() == ([b"two", b"three"], True)
    assert tail.offset == log.stat().st_size


def test_resuming_from_a_saved_offset_reads_only_what_follows(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"old\nnew\n")
    st = log.stat()
    tail = LogTail(log, offset=4, file_id=(st.st_dev, st.st_ino))
    assert tail.read() == ([b"new"], True)
    assert not tail.continuity_lost


def test_another_file_at_the_path_is_read_from_its_start_and_flagged(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"fresh\n")
    tail = LogTail(log, offset=999, file_id=(0, 0))
    assert tail.read() == ([b"fresh"], True)
    assert tail.continuity_lost


def test_rotation_drains_the_old_file_then_follows_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"a\n")
    tail = LogTail(log)
    assert tail.read() == ([b"a"], True)
    with log.open("ab") as handle:
        handle.write(b"b\n")
    os.rename(log, tmp_path / "c.log.1")
    log.write_bytes(b"c\n")
    assert tail.read() == ([b"b"], True)
    assert tail.read() == ([b"c"], True)
    assert not tail.continuity_lost


def test_copytruncate_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"aaaa\nbbbb\n")
    tail = LogTail(log)
    tail.read()
    os.truncate(log, 0)
    with log.open("ab") as handle:
        handle.write(b"c\n")
    assert tail.read() == ([b"c"], True)


def test_an_endless_line_is_dropped_not_buffered(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"x" * 100_000)  # no newline: not a line nginx would write
    tail = LogTail(log)
    assert tail.read() == ([], True)
    assert (tail.oversized, tail.partial) == (1, b"")
    with log.open("ab") as handle:
        handle.write(b"xx\nok\n")
    assert tail.read() == ([b"xx", b"ok"], True)  # the fragment is unparseable downstream


def test_reclaim_frees_the_blocks_already_accounted_for(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes((b"y" * 99 + b"\n") * 12_000)  # 1.2 MB: more than one read
    tail = LogTail(log)
    lines: list[bytes] = []
    while True:
        batch, at_end = tail.read()
        lines += batch
        if at_end:
            break
    assert len(lines) == 12_000
    before = os.stat(log).st_blocks
    tail.reclaim(tail.offset)
    after = os.stat(log)
    assert tail.reclaim_supported
    assert after.st_size == tail.offset  # nginx's append position is unchanged
    assert after.st_blocks < before
    with log.open("ab") as handle:
        handle.write(b"next\n")
    assert tail.read() == ([b"next"], True)
