"""Eight processes appending at once: the chain must verify and no event may be lost."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

from swiftdeploy.history import History

WRITERS = 8
PER_WRITER = 1000


def _writer(path: str, writer: int) -> None:
    history = History(Path(path))
    for i in range(PER_WRITER):
        history.append("status_sample", {"writer": writer, "i": i})


def test_concurrent_appenders_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    # Verifying while the writers run must never see a half-written line or a bad chain.
    checks = 0
    while any(proc.is_alive() for proc in procs):
        during = History(path).verify()
        assert during.ok, during.problem
        checks += 1
    assert checks > 0
    for proc in procs:
        proc.join(timeout=240)
        assert proc.exitcode == 0
    history = History(path)
    result = history.verify()
    assert result.ok, result.problem
    assert result.count == WRITERS * PER_WRITER
    events = list(history.events())
    assert Counter(e["writer"] for e in events) == dict.fromkeys(range(WRITERS), PER_WRITER)
    for w in range(WRITERS):
        # Each writer's own events keep their order.
        assert [e["i"] for e in events if e["writer"] == w] == list(range(PER_WRITER))
    assert [e["seq"] for e in events] == list(range(WRITERS * PER_WRITER))
