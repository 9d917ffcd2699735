"""The recent end of history.jsonl, read incrementally.

A history can hold millions of lines; the page only needs the last few decisions and
events. The first read looks at the file's last `INITIAL_BYTES`; later reads start where
the previous one stopped, so a tick costs only the lines appended since.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

INITIAL_BYTES = 512 * 1024
KEEP = 400


class HistoryTail:
    def __init__(self, path: Path, *, keep: int = KEEP) -> None:
        self.path = path
        self.offset: int | None = None
        self.inode: int | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=keep)

    def refresh(self) -> list[dict[str, Any]]:
        """Read what was appended since the last call; return the kept events, oldest first."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            self.offset, self.inode = None, None
            self.events.clear()
            return []
        with handle:
            stat = self.path.stat()
            if self.inode != stat.st_ino or self.offset is None or stat.st_size < self.offset:
                # New, replaced or cut file: start again from its recent end.
                self.events.clear()
                self.inode = stat.st_ino
                self.offset = max(0, stat.st_size - INITIAL_BYTES)
                skip_partial = self.offset > 0
            else:
                skip_partial = False
            handle.seek(self.offset)
            data = handle.read(stat.st_size - self.offset)
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next call
        lines = data[:end].split(b"\n")
        if skip_partial and lines:
            lines = lines[1:]
        self.offset += end
        for line in lines:
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.events.append(event)
        return list(self.events)
