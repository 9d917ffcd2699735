"""The collector's state, without its process: lines in, series and counters, checkpoints.

`Collector.ingest` never raises on input: a line that does not parse is counted
(`unparseable`), one older than the ring is counted (`dropped{reason="too_old"}`), and
both are skipped. `checkpoint()` / `restore()` move everything to and from the journal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from swiftdeploy.collector.journal import VERSION
from swiftdeploy.collector.record import FIELD_COUNT, MAX_LINE, TAG, TRACKS, parse_line
from swiftdeploy.collector.series import BUCKETS, WIDTH, Figures, Series
from swiftdeploy.metrics import OBSERVABILITY_PATHS

DEFAULT_EXCLUDED = tuple(sorted(OBSERVABILITY_PATHS))


class Collector:
    def __init__(
        self,
        *,
        retention_s: int = 3600,
        excluded_paths: Iterable[str] = DEFAULT_EXCLUDED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.series = Series(retention_s)
        self.excluded_paths = frozenset(excluded_paths)
        self.excluded_paths_bytes = frozenset(p.encode() for p in self.excluded_paths)
        self.clock = clock
        self.lines = 0
        self.unparseable = 0
        self.dropped: dict[str, int] = {}
        # The first instant from which every request is counted: the first line of a fresh
        # log (nginx logs every request from its start), or when the log was first read.
        self.covered_from = math.inf
        self.fresh_until = 0.0  # every request that ended before this is counted

    def ingest(self, lines: Iterable[bytes]) -> None:
        """Count a batch of lines.

        Lines that agree on every field but the millisecond and the path (most of them,
        within a second) are grouped first and parsed once per group, which makes the
        per-line cost a split and a dict update — the collector shares the CPU with nginx.
        """
        excluded = self.excluded_paths_bytes
        groups: dict[tuple[bytes, ...], list[Any]] = {}
        bad = 0
        count = 0
        for line in lines:
            count += 1
            parts = line.split(b"\t")
            if len(parts) != FIELD_COUNT or parts[0] != TAG or len(line) > MAX_LINE:
                bad += 1
                continue
            second, dot, millis = parts[1].partition(b".")
            if not (second.isdigit() and (not dot or millis.isdigit())):
                bad += 1
                continue
            path = parts[7]
            key = (second, *parts[2:7], b"x" if path.rstrip(b"\r\n") in excluded else b"")
            group = groups.get(key)
            if group is None:
                groups[key] = [1, line]
            else:
                group[0] += 1
        self.lines += count
        series = self.series
        for (_second, *_fields, is_excluded), (n, line) in groups.items():
            record = parse_line(line)
            if record is None:
                bad += n
                continue
            self.covered_from = min(self.covered_from, float(math.floor(record.time)))
            if not series.add(record, excluded=bool(is_excluded), count=n):
                self.drop("too_old", n)
        self.unparseable += bad

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    def caught_up(self, at: float | None = None) -> None:
        """The log has been read to its end at `at`: every request that ended is counted."""
        self.fresh_until = self.clock() if at is None else at
        self.covered_from = min(self.covered_from, self.fresh_until)

    def window(self, track: str, seconds: int, *, now: float | None = None) -> Figures:
        """The last `seconds` whole seconds that the collector has completely read."""
        end = math.floor(min(self.fresh_until, self.clock() if now is None else now))
        return self.series.window(
            track,
            seconds,
            end_s=end,
            covered_from=self.covered_from,
            fresh_until=self.fresh_until,
        )

    # -- persistence ---------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        s = self.series
        return {
            "codes": {f"{t}|{code}": n for (t, code), n in sorted(s.codes.items())},
            "hist": s.hist,
            "sum_us": s.sum_us,
            "excluded": {f"{t}|{r}": n for (t, r), n in sorted(s.excluded.items())},
            "lines": self.lines,
            "unparseable": self.unparseable,
            "dropped": dict(sorted(self.dropped.items())),
        }

    def checkpoint(
        self, offset: int, file_id: tuple[int, int] | None, *, full: bool = False
    ) -> dict[str, Any]:
        """A journal record: changed rows (every row when `full`), totals and log position."""
        if full:
            self.series.dirty.clear()
            rows: dict[str, dict[int, list[int]]] = {}
            for track, ring in self.series.rings.items():
                rows[track] = dict(ring.items())
        else:
            rows = self.series.take_dirty()
        return {
            "v": VERSION,
            "offset": offset,
            "file": list(file_id) if file_id else None,
            "covered_from": self.covered_from if math.isfinite(self.covered_from) else None,
            "fresh_until": self.fresh_until,
            "rows": {t: {str(s): v for s, v in sorted(r.items())} for t, r in rows.items()},
            "totals": self.totals(),
        }

    def restore(self, records: list[dict[str, Any]]) -> tuple[int, tuple[int, int] | None]:
        """Replay journal records; returns the log (offset, file id) to resume from.

        A record whose shape is wrong (written by another version) ends the replay there,
        as a torn record would: what came before is still right.
        """
        offset, file_id = 0, None
        for record in records:
            try:
                rows = {
                    track: {int(s): _row(v) for s, v in seconds.items()}
                    for track, seconds in record["rows"].items()
                    if track in TRACKS
                }
                totals = record["totals"]
                self._restore_totals(totals)
                self.series.restore_rows(rows)
                offset = int(record["offset"])
                raw_id = record["file"]
                file_id = (int(raw_id[0]), int(raw_id[1])) if raw_id else None
                covered = record["covered_from"]
                self.covered_from = math.inf if covered is None else float(covered)
                self.fresh_until = float(record["fresh_until"])
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                self.drop("journal_record")
                break
        self.series.dirty.clear()
        return offset, file_id

    def _restore_totals(self, totals: dict[str, Any]) -> None:
        s = self.series
        codes = {}
        for key, n in totals["codes"].items():
            track, code = key.split("|")
            codes[(track, int(code))] = int(n)
        hist = {t: [int(n) for n in totals["hist"][t]] for t in TRACKS}
        if any(len(h) != BUCKETS for h in hist.values()):
            raise ValueError("histogram width")
        excluded = {}
        for key, n in totals["excluded"].items():
            track, reason = key.split("|")
            excluded[(track, reason)] = int(n)
        s.codes, s.hist, s.excluded = codes, hist, excluded
        s.sum_us = {t: int(totals["sum_us"][t]) for t in TRACKS}
        self.lines = int(totals["lines"])
        self.unparseable = int(totals["unparseable"])
        self.dropped = {str(k): int(v) for k, v in totals["dropped"].items()}


def _row(values: Any) -> list[int]:
    row = [int(v) for v in values]
    if len(row) != WIDTH:
        raise ValueError("row width")
    return row
