"""The tail of an instance's log, for the reason a failed start is reported with.

An instance's log is a file (a host process) or its container's output.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from swiftdeploy import _process
from swiftdeploy.state import InstanceRecord

MAX_LINE = 300  # a runaway line is cut, so the reason stays one readable paragraph


def tail(record: InstanceRecord, *, lines: int = 5) -> list[str]:
    """The last non-empty lines of the instance's log (none when it cannot be read)."""
    if record.container:
        result = _process.run(
            ["docker", "logs", "--tail", str(lines), record.container], timeout=30, check=False
        )
        text = result.stdout + result.stderr
        found = text.splitlines()
    else:
        try:
            with Path(record.log).open(errors="replace") as handle:
                found = list(deque(handle, maxlen=lines * 4))
        except (OSError, ValueError):
            return []
    kept = [line.rstrip()[:MAX_LINE] for line in found if line.strip()]
    return kept[-lines:]
