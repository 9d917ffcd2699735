from __future__ import annotations

import base64
import errno
import hashlib
import itertools
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swiftdeploy.errors import DiskFull, HistoryError
from swiftdeploy.history import (
    GENESIS,
    RESERVE_BYTES,
    RESERVED,
    History,
    canonical,
    format_ts,
    make_event,
    parse_ts,
)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, content: list[bytes]) -> None:
    path.write_bytes(b"".join(content))


@pytest.fixture
def history(tmp_path: Path) -> History:
    h = History(tmp_path / "history.jsonl")
    for i in range(6):
        h.append("status_sample", {"mode": "stable", "req_per_s": float(i), "note": "é✓"})
    return h


def test_event_shape_and_chain(history: History) -> None:
    events = list(history.events())
    assert [e["seq"] for e in events] == list(range(6))
    assert events[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(events):
        assert after["prev"] == before["hash"]
    for event in events:
        body = {k: v for k, v in event.items() if k != "hash"}
        assert hashlib.sha256(canonical(body).encode()).hexdigest() == event["hash"]
        assert event["ts"].endswith("Z")
        assert len(event["ts"]) == 24
        assert event["note"] == "é✓"
    assert "é✓" in history.path.read_text(encoding="utf-8")  # ensure_ascii=False
    assert history.verify().ok
    assert history.verify().count == 6


def test_append_returns_the_written_event(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    event = h.append("deploy", {"version": "1.0"})
    assert event == json.loads(h.path.read_text())
    assert event["type"] == "deploy"
    assert event["seq"] == 0


@pytest.mark.parametrize("key", ["ts", "seq", "type", "prev", "hash"])
def test_reserved_keys_rejected(tmp_path: Path, key: str) -> None:
    with pytest.raises(HistoryError, match=key):
        History(tmp_path / "h.jsonl").append("deploy", {key: 1})
    assert not (tmp_path / "h.jsonl").exists()


def test_unserialisable_payload_rejected(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="JSON"):
        History(tmp_path / "h.jsonl").append("deploy", {"x": object()})


def test_missing_history_verifies_empty_and_streams_nothing(tmp_path: Path) -> None:
    h = History(tmp_path / "none.jsonl")
    assert h.verify().ok
    assert h.verify().count == 0
    assert list(h.events()) == []


def test_edit_detected_on_that_line(history: History) -> None:
    content = lines(history.path)
    content[2] = content[2].replace(b'"req_per_s":2.0', b'"req_per_s":9.0')
    write_lines(history.path, content)
    result = history.verify()
    assert (result.ok, result.first_bad_line) == (False, 3)
    assert "edited" in result.problem


def test_edit_with_recomputed_hash_detected_on_next_line(history: History) -> None:
    content = lines(history.path)
    event = json.loads(content[2])
    event["req_per_s"] = 9.0
    del event["hash"]
    event["hash"] = hashlib.sha256(canonical(event).encode()).hexdigest()
    content[2] = (canonical(event) + "\n").encode()
    write_lines(history.path, content)
    result = history.verify()
    assert (result.ok, result.first_bad_line) == (False, 4)
    assert "prev" in result.problem


def test_delete_detected(history: History) -> None:
    content = lines(history.path)
    del content[3]
    write_lines(history.path, content)
    result = history.verify()
    assert (result.ok, result.first_bad_line) == (False, 4)
    assert "removed" in result.problem


def test_reorder_detected(history: History) -> None:
    content = lines(history.path)
    content[1], content[2] = content[2], content[1]
    write_lines(history.path, content)
    result = history.verify()
    assert (result.ok, result.first_bad_line) == (False, 2)


def test_truncated_last_line_detected(history: History) -> None:
    data = history.path.read_bytes()
    history.path.write_bytes(data[:-10])
    result = history.verify()
    assert (result.ok, result.first_bad_line) == (False, 6)
    assert "truncated" in result.problem


def test_lines_cut_off_the_end_detected_via_head(history: History) -> None:
    write_lines(history.path, lines(history.path)[:4])
    result = history.verify()
    assert (result.ok, result.first_bad_line, result.count) == (False, 5, 4)
    assert "cut off" in result.problem


def test_torn_line_repaired_and_recorded(history: History) -> None:
    torn = b'{"mode":"canary","seq":6,"ts":"2026'
    with history.path.open("ab") as handle:
        handle.write(torn)
    event = history.append("deploy", {"version": "2"})
    events = list(history.events())
    repair = events[-2]
    assert repair["type"] == "history_repair"
    assert base64.b64decode(repair["dropped_b64"]) == torn
    assert repair["seq"] == 6
    assert event["seq"] == 7
    assert event["prev"] == repair["hash"]
    assert history.verify().ok


def test_torn_complete_line_with_invalid_json_repaired(history: History) -> None:
    with history.path.open("ab") as handle:
        handle.write(b"\x00\x00\x00\n")
    history.append("deploy", {})
    result = history.verify()
    assert result.ok
    assert result.count == 8


def test_torn_first_line_repaired(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    h.path.write_bytes(b'{"ts":')
    event = h.append("deploy", {})
    assert event["seq"] == 1
    assert h.verify().ok


def test_damage_before_last_line_refuses_to_append(history: History) -> None:
    content = lines(history.path)
    content[-1] = b"garbage\n"
    content.append(b'{"torn')
    write_lines(history.path, content)
    with pytest.raises(HistoryError, match="damaged"):
        history.append("deploy", {})


def test_large_last_line_read_from_the_end(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    h.append("policy_decision", {"input": "x" * 50_000})
    h.append("policy_decision", {"input": "y" * 20_000})
    assert h.append("deploy", {})["seq"] == 2
    assert h.verify().ok


def test_write_failure_leaves_chain_intact(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = history.path.read_bytes()
    real_write = os.write

    def failing_write(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:5])  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(DiskFull, match=r"^disk full: .*No space left"):
        history.append("deploy", {"version": "3"})
    monkeypatch.undo()
    assert history.path.read_bytes() == before
    assert history.verify().ok
    assert history.append("deploy", {})["seq"] == 6


def test_a_full_disk_spends_the_reserve_so_the_event_is_recorded(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    history.ensure_reserve()
    assert history.reserve_path.stat().st_size >= RESERVE_BYTES
    real_write = os.write
    failures = iter([True])

    def full_until_the_reserve_is_freed(fd: int, data: Any) -> int:
        if next(failures, False):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_until_the_reserve_is_freed)
    event = history.append("rollback", {"stopped": "canary-1"})
    monkeypatch.undo()
    assert not history.reserve_path.exists()
    assert history.verify().ok
    assert [e["type"] for e in history.events()][-1] == "rollback" == event["type"]


def test_events_since_until(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    stamps = ["2026-05-06T20:00:00.000Z", "2026-05-06T20:05:00.000Z", "2026-05-06T20:10:00.000Z"]
    text = "".join(json.dumps({"ts": ts, "seq": i}) + "\n" for i, ts in enumerate(stamps))
    h.path.write_text(text + "not json\n")
    got = [
        e["seq"] for e in h.events(since="2026-05-06T22:01:00+02:00", until="2026-05-06T20:10:00Z")
    ]
    assert got == [1, 2]
    assert h.skipped == 1
    assert [e["seq"] for e in h.events(until=datetime(2026, 5, 6, 20, 0, tzinfo=UTC))] == [0]


def test_timestamps() -> None:
    moment = datetime(2026, 5, 6, 20, 10, 0, 123456, tzinfo=UTC)
    assert format_ts(moment) == "2026-05-06T20:10:00.123Z"
    assert parse_ts("2026-05-06T20:10:00Z") == datetime(2026, 5, 6, 20, 10, tzinfo=UTC)
    with pytest.raises(HistoryError):
        parse_ts("yesterday")


def test_deleted_history_with_known_head_is_reported(history: History) -> None:
    history.path.unlink()
    result = history.verify()
    assert not result.ok
    assert result.first_bad_line == 1
    assert "missing" in result.problem


def test_verify_ignores_lines_appended_after_it_started(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = History._snapshot

    def snapshot_then_append(self: History) -> tuple[int, tuple[int, str] | None]:
        taken = real(self)
        History(self.path).append("deploy", {"late": True})
        return taken

    monkeypatch.setattr(History, "_snapshot", snapshot_then_append)
    result = history.verify()
    assert result.ok
    assert result.count == 6


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
payloads = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in RESERVED), json_values, max_size=5
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(payloads, min_size=1, max_size=6), data=st.data())
def test_any_single_byte_change_is_caught_on_its_line(
    tmp_path_factory: pytest.TempPathFactory, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    h = History(tmp_path_factory.mktemp("h") / "history.jsonl")
    for payload in events:
        h.append("status_sample", payload)
    assert [e["seq"] for e in h.events()] == list(range(len(events)))
    assert h.verify().ok
    content = lines(h.path)
    k = data.draw(st.integers(0, len(content) - 1))
    line = bytearray(content[k])
    i = data.draw(st.integers(0, len(line) - 2))  # keep the newline
    line[i] = data.draw(st.integers(0, 255).filter(lambda b: b != line[i]))
    content[k] = bytes(line)
    write_lines(h.path, content)
    result = h.verify()
    assert not result.ok
    assert result.first_bad_line == k + 1, result.problem


# --- the outside anchor: a head kept elsewhere catches a recomputed chain -------------------


def _rewrite_and_recompute(history: History, change: dict[str, Any]) -> None:
    """What an attacker with write access does: edit an event, recompute the whole chain."""
    events = [json.loads(line) for line in lines(history.path)]
    out: list[bytes] = []
    prev = GENESIS
    for index, event in enumerate(events):
        payload = {k: v for k, v in event.items() if k not in RESERVED}
        if index == 2:
            payload.update(change)
        made, line = make_event(index, prev, event["type"], payload, event["ts"])
        prev = made["hash"]
        out.append(line)
    write_lines(history.path, out)
    history.lock_path.write_text(f"{len(events) - 1} {prev}\n")  # and the sidecar head


def test_a_recomputed_chain_verifies_alone_but_not_against_an_outside_head(
    history: History,
) -> None:
    head = history.chain_head()
    assert head is not None
    assert head == (5, json.loads(lines(history.path)[-1])["hash"])
    assert history.verify(anchor=head).ok
    _rewrite_and_recompute(history, {"n": 99})
    assert history.verify().ok  # the chain alone cannot tell
    result = history.verify(anchor=head)
    assert not result.ok
    assert "seq 5" in result.problem
    assert "rewritten" in result.problem


def test_an_anchor_past_the_end_means_lines_were_cut(history: History) -> None:
    result = history.verify(anchor=(40, "a" * 64))
    assert not result.ok
    assert "seq 40" in result.problem


def test_the_head_is_handed_out_every_n_events(tmp_path: Path) -> None:
    sent: list[tuple[int, str]] = []
    history = History(tmp_path / "h.jsonl", anchor_every=3, on_anchor=sent.append)
    events = [history.append("deploy", {"n": n}) for n in range(7)]
    assert sent == [(2, events[2]["hash"]), (5, events[5]["hash"])]


def test_a_failing_anchor_sink_never_fails_the_append(tmp_path: Path) -> None:
    def broken(head: tuple[int, str]) -> None:
        raise OSError("receiver down")

    history = History(tmp_path / "h.jsonl", anchor_every=1, on_anchor=broken)
    assert history.append("deploy", {})["seq"] == 0
