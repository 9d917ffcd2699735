from __future__ import annotations

import json
from pathlib import Path

import pytest

from swiftdeploy.dashboard import history_tail
from swiftdeploy.dashboard.history_tail import HistoryTail
from swiftdeploy.history import History


def test_reads_only_what_was_appended_since_the_last_call(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    tail = HistoryTail(history.path)
    assert tail.refresh() == []
    history.append("deploy", {"mode": "stable"})
    assert [e["type"] for e in tail.refresh()] == ["deploy"]
    history.append("chaos", {"mode": "error"})
    with history.path.open("a") as handle:
        handle.write('{"type": "half-written')  # a line still being written is left for later
    assert [e["type"] for e in tail.refresh()] == ["deploy", "chaos"]
    with history.path.open("a") as handle:
        handle.write('"}\n')
    assert [e["type"] for e in tail.refresh()][-1] == "half-written"


def test_a_replaced_file_is_read_again_and_a_big_one_from_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps({"type": "old", "seq": n}) + "\n" for n in range(5)))
    tail = HistoryTail(path)
    assert len(tail.refresh()) == 5
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(json.dumps({"type": "new", "seq": 0}) + "\n")
    replacement.replace(path)
    assert [e["type"] for e in tail.refresh()] == ["new"]

    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"type": "e", "seq": n}) + "\n" for n in range(20_000)))
    monkeypatch.setattr(history_tail, "INITIAL_BYTES", 4096)
    events = HistoryTail(big, keep=10).refresh()
    assert [e["seq"] for e in events] == list(range(19_990, 20_000))
