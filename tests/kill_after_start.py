"""`python kill_after_start.py RUNTIME TRACK ARGS…`: the CLI with ARGS, killed -9 by itself
the moment RUNTIME has started an instance for TRACK, before the state file names it
(`killed_after_start` runs it from a test).

That window (the instance runs, its pid or container id exists only in the CLI's memory) is
microseconds wide: no delay chosen from outside hits it on purpose, so the kill is placed
from inside. Everything else is the real CLI, nginx, service and (compose, swarm) Docker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from swiftdeploy.cli.main import main
from swiftdeploy.runtime import runtime_class
from swiftdeploy.runtime.base import InstanceSpec
from swiftdeploy.state import DeploymentState, InstanceRecord


def run(runtime: str, track: str, args: list[str]) -> None:
    cls: Any = runtime_class(runtime)
    start = cls.start_instance

    def start_then_die(self: Any, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        record: InstanceRecord = start(self, state, spec)
        if spec.track == track:
            os.kill(os.getpid(), signal.SIGKILL)
        return record

    cls.start_instance = start_then_die
    main(args)


def killed_after_start(
    runtime: str,
    track: str,
    manifest: Path,
    *args: str,
    env: Mapping[str, str],
    timeout: float,
) -> None:
    """Run `swiftdeploy -f MANIFEST ARGS` through this driver, and check that it died by
    its own kill, right after starting TRACK's instance."""
    killed = subprocess.run(
        [sys.executable, __file__, runtime, track, "-f", str(manifest), *args],
        env=dict(env), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3:])
