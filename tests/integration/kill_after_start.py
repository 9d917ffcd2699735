"""`python kill_after_start.py TRACK ARGS…`: the CLI with ARGS, killed -9 by itself the moment
the local runtime has spawned an instance for TRACK, before the state file names it.

That window (the instance runs, its pid exists only in the CLI's memory) is a few
microseconds wide: no delay chosen from outside hits it on purpose, so the kill is placed
from inside. Everything else is the real CLI, nginx and service.
"""

from __future__ import annotations

import os
import signal
import sys

from swiftdeploy.cli.main import main
from swiftdeploy.runtime.base import InstanceSpec
from swiftdeploy.runtime.local.runtime import LocalRuntime
from swiftdeploy.state import DeploymentState, InstanceRecord


def run(track: str, args: list[str]) -> None:
    start = LocalRuntime.start_instance

    def start_then_die(
        self: LocalRuntime, state: DeploymentState, spec: InstanceSpec
    ) -> InstanceRecord:
        record = start(self, state, spec)
        if spec.track == track:
            os.kill(os.getpid(), signal.SIGKILL)
        return record

    LocalRuntime.start_instance = start_then_die  # type: ignore[method-assign]
    main(args)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2:])
