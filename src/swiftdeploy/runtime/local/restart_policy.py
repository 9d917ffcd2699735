"""Whether and when an exited instance is started again (pure: no processes, no clock).

The policy is the manifest's `services.restart`, with Docker's meanings: `always` restarts
whatever the exit, `on-failure` only a non-zero exit or a signal, `no` never. The delay
doubles from INITIAL_S to MAX_S with each restart that follows quickly on the last one,
and starts over once an instance has stayed up HEALTHY_RESET_S.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

INITIAL_S = 0.5
MAX_S = 30.0
HEALTHY_RESET_S = 60.0


@dataclass(frozen=True)
class Exit:
    """How a process ended; both None when it was not ours to wait for (status unknown)."""

    code: int | None = None
    signal: int | None = None

    @classmethod
    def from_wait_status(cls, status: int) -> Exit:
        import os

        if os.WIFSIGNALED(status):
            return cls(signal=os.WTERMSIG(status))
        return cls(code=os.waitstatus_to_exitcode(status))

    @property
    def known(self) -> bool:
        return self.code is not None or self.signal is not None

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = f"signal {self.signal}"
            return f"killed by {name}"
        if self.code is not None:
            return f"exited {self.code}"
        return "exited (status unknown)"


def should_restart(policy: str, exit: Exit) -> bool:
    """`on-failure` restarts an unknown exit too: an instance first started by a CLI is not
    the supervisor's child, so its status is lost, and SwiftDeploy's own stops never reach
    here (they remove the instance from the state first); only a known exit 0 is a success."""
    if policy == "always":
        return True
    if policy == "on-failure":
        return exit.code != 0 or exit.signal is not None
    return False


def delay(attempt: int) -> float:
    """The wait before restart number `attempt` (1-based) of a run of quick failures."""
    return min(MAX_S, INITIAL_S * 2.0 ** max(0, min(attempt, 64) - 1))


@dataclass
class Backoff:
    """One instance's run of restarts, kept by the supervisor between ticks."""

    attempt: int = 0
    last_start: float | None = None  # monotonic instant of the last restart
    due: float | None = None  # monotonic instant the next restart may happen

    def exited(self, now: float) -> float:
        """Note an exit seen at `now`; returns the delay before the restart."""
        if self.due is None:
            if self.last_start is not None and now - self.last_start >= HEALTHY_RESET_S:
                self.attempt = 0  # it stayed up: a new crash starts a new run
            self.attempt += 1
            self.due = now + delay(self.attempt)
        return delay(self.attempt)

    @property
    def delay_s(self) -> float:
        return delay(self.attempt) if self.attempt else 0.0

    def ready(self, now: float) -> bool:
        return self.due is not None and now >= self.due

    def restarted(self, now: float) -> None:
        self.last_start, self.due = now, None
