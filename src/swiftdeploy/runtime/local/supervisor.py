"""The resident supervisor of the local instances: restart what exited on its own.

`python -m swiftdeploy.runtime.local.supervisor --state-dir .swiftdeploy/supervisor
--manifest manifest.yaml --restart always`, started by `deploy` (supervisor_process.py).
Every tick it re-reads the state: an instance still recorded there whose process is gone
was not stopped by SwiftDeploy (teardown, rollback and stop_instance remove it from the
state first), so it is respawned from its launch file (launch.py) on the same socket, after
the backoff of restart_policy.py, under the project lock (a busy lock: next tick), and the
restart is recorded in the state (its new pid), the history and restarts.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from swiftdeploy import _process, restarts
from swiftdeploy.errors import StateError, SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.history import History
from swiftdeploy.project import Project
from swiftdeploy.runtime.local import launch
from swiftdeploy.runtime.local.layout import share_with_workers
from swiftdeploy.runtime.local.restart_policy import Backoff, Exit, should_restart
from swiftdeploy.runtime.local.supervisor_process import PID_FILE
from swiftdeploy.state import InstanceRecord, load_state, save_state

TICK_S = 0.5
FAST_TICK_S = 0.1  # while a respawned socket waits to be shared with nginx's workers
SHARE_WITHIN_S = 30.0


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, project: Project, policy: str) -> None:
        self.project, self.policy = project, policy
        self.backoff: dict[str, Backoff] = {}
        self.children: dict[int, Exit | None] = {}  # pids this process spawned: their exit
        self.settled: set[tuple[str, int]] = set()  # (instance, pid) the policy leaves down
        self.unshared: dict[str, float] = {}  # respawned sockets to hand to nginx's workers

    # -- what exited -------------------------------------------------------------------------

    def _reap(self) -> None:
        # Our own children are asked of waitpid (their status is known), before anything
        # else reaps them: _process.alive would collect them and lose the status.
        for pid in [pid for pid, done in self.children.items() if done is None]:
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                self.children[pid] = Exit()
                continue
            if got == pid:
                self.children[pid] = Exit.from_wait_status(status)

    def _exit_of(self, record: InstanceRecord) -> Exit | None:
        """How the instance's process ended, None while it runs."""
        if record.pid in self.children:
            return self.children[record.pid]
        if _process.alive(record.pid, marker=record.address.removeprefix("unix:")):
            return None
        return Exit()  # started by a CLI, not our child: its status is not ours to know

    # -- one tick ----------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self._reap()
        self._share_sockets(now)
        try:
            state = load_state(self.project.state_file)
        except StateError:
            return  # a command is repairing it, or teardown will: nothing to go on
        due: dict[str, Exit] = {}
        for instance_id, record in state.instances.items():
            exit = self._exit_of(record)
            if exit is None or (instance_id, record.pid) in self.settled:
                continue
            if not should_restart(self.policy, exit):
                self.settled.add((instance_id, record.pid))
                _log(f"{instance_id} {exit.describe()}; restart policy {self.policy!r}: left down")
                continue
            backoff = self.backoff.setdefault(instance_id, Backoff())
            backoff.exited(now)
            if backoff.ready(now):
                due[instance_id] = exit
        for gone in set(self.backoff) - set(state.instances):
            del self.backoff[gone]
        if due:
            self._restart(due, now)

    def _restart(self, due: dict[str, Exit], now: float) -> None:
        try:
            with self.project.lock("supervisor restart", wait_s=0):
                self._restart_locked(due, now)
        except SwiftDeployError as exc:  # the lock is busy (a command runs), a full disk
            _log(f"restart postponed: {exc.message}")

    def _restart_locked(self, due: dict[str, Exit], now: float) -> None:
        state = load_state(self.project.state_file)  # what the last command left, not stale
        done: list[tuple[InstanceRecord, int, Exit]] = []
        for instance_id, exit in due.items():
            record = state.instances.get(instance_id)
            if record is None or self._exit_of(record) is None:
                continue  # stopped by SwiftDeploy meanwhile, or already running again
            spec = launch.read(self.project.state_dir, instance_id)
            if spec is None:
                self.settled.add((instance_id, record.pid))
                _log(f"{instance_id} {exit.describe()}; no launch file: left down")
                continue
            backoff = self.backoff[instance_id]
            old_pid = record.pid
            backoff.restarted(now)
            try:
                record.pid = self._spawn(spec)
            except SwiftDeployError as exc:
                _log(f"{instance_id}: {exc.message}")  # counted as another quick failure
                continue
            self.children.pop(old_pid, None)
            done.append((record, old_pid, exit))
        if not done:
            return
        save_state(self.project.state_file, state)
        live = set(state.instances)
        history = History(self.project.history_path)
        for record, old_pid, exit in done:
            backoff = self.backoff[record.id]
            restarts.record(self.project.state_dir, record.id, record.track, time.time(), live)
            history.append(
                "instance_restarted",
                {
                    "instance": record.id,
                    "track": record.track,
                    "version": record.version,
                    "pid": record.pid,
                    "previous_pid": old_pid,
                    "exit": exit.describe(),
                    "exit_code": exit.code,
                    "signal": exit.signal,
                    "attempt": backoff.attempt,
                    "backoff_s": backoff.delay_s,
                    "policy": self.policy,
                },
            )
            _log(f"restarted {record.id} (pid {record.pid}; {exit.describe()})")

    def _spawn(self, spec: launch.Launch) -> int:
        with contextlib.suppress(FileNotFoundError):
            Path(spec.socket).unlink()  # the dead process's socket: the new one binds here
        pid = _process.spawn(spec.argv, env=spec.env, log_path=Path(spec.log))
        self.children[pid] = None
        self.unshared[spec.socket] = time.monotonic() + SHARE_WITHIN_S
        return pid

    def _share_sockets(self, now: float) -> None:
        """As root, nginx's workers reach a socket only once it is shared with their group
        (route() does it for a new instance; a respawned one binds a fresh socket file)."""
        for socket, deadline in list(self.unshared.items()):
            if os.path.exists(socket):
                share_with_workers(socket, mode=0o660)
            elif time.monotonic() < deadline:
                continue
            del self.unshared[socket]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="swiftdeploy-supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--restart", choices=("always", "on-failure", "no"), default="always")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    state_dir: Path = args.state_dir
    project = Project(args.manifest)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pid_file = state_dir / PID_FILE
    atomic_write(pid_file, f"{os.getpid()}\n", mode=0o600)
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    supervisor = Supervisor(project, args.restart)
    _log(f"supervising {project.state_file} (restart: {args.restart})")
    # Bounded by its reasons to stop: a signal (teardown), its project folder removed, or
    # its pid file naming another supervisor (a replacement took over).
    while not stopping and project.state_dir.is_dir() and _names_us(pid_file):
        supervisor.tick(time.monotonic())
        time.sleep(FAST_TICK_S if supervisor.unshared else TICK_S)
    if _names_us(pid_file):
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
    _log("stopped")
    return 0


def _names_us(pid_file: Path) -> bool:
    try:
        return int(pid_file.read_text(encoding="ascii").strip()) == os.getpid()
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
