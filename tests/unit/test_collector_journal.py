from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from swiftdeploy.collector import journal
from swiftdeploy.collector.core import Collector
from swiftdeploy.collector.journal import Journal


def line(t: float, status: int = 200, track: str = "canary", path: str = "/") -> bytes:
    return f"sd1\t{t}\t{status}\t0.020\t0.021\t{track}\t\t{path}".encode()


def test_records_round_trip_and_a_torn_tail_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "series.journal"
    j = Journal(path)
    assert j.append({"v": 1, "n": 1})
    assert j.append({"v": 1, "n": 2})
    good = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(journal.encode({"v": 1, "n": 3})[:-7])  # a crash mid-write
    assert [r["n"] for r in journal.read(path).records] == [1, 2]
    reopened = Journal(path)
    assert path.stat().st_size == good
    assert reopened.append({"v": 1, "n": 4})
    assert [r["n"] for r in journal.read(path).records] == [1, 2, 4]


def test_a_corrupt_record_ends_the_replay_there(tmp_path: Path) -> None:
    path = tmp_path / "series.journal"
    records = [journal.encode({"v": 1, "n": n}) for n in range(3)]
    flipped = records[1].replace(b'"n":1', b'"n":7')  # the checksum no longer matches
    path.write_bytes(records[0] + flipped + records[2])
    loaded = journal.read(path)
    assert [r["n"] for r in loaded.records] == [0]
    assert loaded.torn_bytes == len(flipped) + len(records[2])


def test_a_full_disk_leaves_the_journal_as_it_was(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), as a full disk would."""
    path = tmp_path / "series.journal"
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from swiftdeploy.collector.journal import Journal
        j = Journal(Path({str(path)!r}))
        assert j.append({{"v": 1, "n": 0}})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = Path({str(path)!r}).stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, size + 40))
        ok = j.append({{"v": 1, "n": 1, "pad": "x" * 200}})
        print(ok, j.append_errors, Path({str(path)!r}).stat().st_size == size)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "1", "True"]
    assert [r["n"] for r in journal.read(path).records] == [0]


def test_restore_resumes_the_series_totals_and_log_offset(tmp_path: Path) -> None:
    path = tmp_path / "series.journal"
    first = Collector(retention_s=120, clock=lambda: 1010.0)
    first.ingest([line(1000.2), line(1000.4, 503), line(1001.1, path="/healthz"), b"junk"])
    j = Journal(path)
    assert j.append(first.checkpoint(4096, (1, 2)))
    first.ingest([line(1002.5, track="stable")])
    assert j.append(first.checkpoint(5000, (1, 2)))

    second = Collector(retention_s=120, clock=lambda: 1010.0)
    assert second.restore(journal.read(path).records) == (5000, (1, 2))
    second.caught_up(1005.0)
    canary = second.window("canary", 10)
    assert (canary.requests, canary.errors) == (2, 1)
    assert second.window("stable", 10).requests == 1
    assert second.totals() == first.totals() | {}
    assert (second.lines, second.unparseable) == (5, 1)


def test_compaction_replaces_the_journal_with_one_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "series.journal"
    collector = Collector(retention_s=120, clock=lambda: 2000.0)
    j = Journal(path)
    for second in range(1900, 1990):
        collector.ingest([line(second + 0.5)])
        assert j.append(collector.checkpoint(second, (1, 1)))
    assert j.compact(collector.checkpoint(1990, (1, 1), full=True))
    records = journal.read(path).records
    assert len(records) == 1
    restored = Collector(retention_s=120, clock=lambda: 2000.0)
    restored.restore(records)
    restored.caught_up(1990.0)
    assert restored.window("canary", 90).requests == 90
    assert not j.needs_compaction()


def test_a_record_of_the_wrong_shape_stops_the_replay_without_raising(tmp_path: Path) -> None:
    collector = Collector()
    good = Collector(clock=lambda: 10.0)
    good.ingest([line(5.0)])
    records = [good.checkpoint(10, None), {"v": 1, "rows": {"canary": {"x": [1]}}}]
    assert collector.restore(records) == (10, None)
    assert collector.dropped == {"journal_record": 1}
