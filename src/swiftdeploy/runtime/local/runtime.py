"""The local runtime: the real nginx and the service as supervised processes, no Docker.

Instances listen on Unix sockets in a short per-project run folder. nginx never
points at an instance directly: it connects to symlinks (`stable.sock`,
`canary.sock` and twenty weighted `slot-NN.sock`), so moving traffic is an atomic
`rename` of symlinks. nginx resolves the path on every new upstream connection
(the local config keeps no upstream keep-alive), so a switch needs no reload and
drops no client connection; reloads are kept for real config changes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from swiftdeploy import _process
from swiftdeploy.artifact import Artifact
from swiftdeploy.checks import CheckResult
from swiftdeploy.clock import iso_utc
from swiftdeploy.collector.nginx import REQUEST_LOG, SLOTS, mark_slots
from swiftdeploy.errors import CommandFailed, SwiftDeployError
from swiftdeploy.files import atomic_write
from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import render_nginx
from swiftdeploy.project import Project
from swiftdeploy.runtime.base import Health, InstanceSpec
from swiftdeploy.runtime.compose.files import compose_files
from swiftdeploy.runtime.health import MAX_BODY_BYTES, judge, read_at_most
from swiftdeploy.runtime.local import command, launch, orphans, preflight, supervisor_process
from swiftdeploy.runtime.local.layout import (
    ROOT_RUN_BASE,
    ROUTE_DIR,
    nginx_argv,
    nginx_target,
    run_dir_for,
    share_with_workers,
    worker_identity,
    worker_user,
)
from swiftdeploy.state import DeploymentState, InstanceRecord, ProcessRecord, load_state, save_state

DRAIN_TIMEOUT_S = 65.0  # a chaos-slowed request may take 60 s; let it finish


class LocalRuntime:
    name = "local"
    records_restarts = True  # its supervisor counts each restart in restarts.json
    artifact_field = ("local", "command")

    @classmethod
    def generated_files(cls, project: Project, manifest: Manifest, digest: str) -> dict[Path, str]:
        # The seeds' `init` writes the container files whatever the runtime: they are the
        # portable description of the service (and `docker compose config` checks them).
        return compose_files(project, manifest, digest)

    @classmethod
    def preflight(cls, manifest: Manifest) -> tuple[CheckResult, CheckResult]:
        return preflight.check_service(manifest), preflight.check_nginx(manifest)

    def artifact(self, version: str) -> Artifact:
        return command.resolve(self.manifest, self.project.root, version)

    def __init__(self, project: Project, manifest: Manifest) -> None:
        self.project = project
        self.manifest = manifest
        self.run_dir = run_dir_for(project)
        self.nginx_prefix = project.state_dir / "nginx"

    # -- state -----------------------------------------------------------------------------

    def load(self) -> DeploymentState:
        state = load_state(self.project.state_file)
        for instance_id, record in list(state.instances.items()):
            if not _process.alive(record.pid, marker=_socket_path(record.address)):
                del state.instances[instance_id]
        if state.stable not in state.instances:
            state.stable = None
        if state.canary not in state.instances:
            state.canary = None
            state.canary_weight = 0
        if state.nginx and not _process.alive(state.nginx.pid, marker=state.nginx.config):
            state.nginx = None
        if state.opa and not _process.alive(state.opa.pid, marker=state.opa.config):
            state.opa = None
        if state.nginx is None:
            state.nginx = self._adopt_nginx()
        if state.pending:
            self._adopt_orphans(state)
        return state

    def _adopt_nginx(self) -> ProcessRecord | None:
        """An nginx started by a command killed before it saved the state: find it again."""
        conf = self.nginx_prefix / "nginx.conf"
        try:
            pid = int((self.nginx_prefix / "nginx.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return (
            ProcessRecord(pid=pid, config=str(conf))
            if _process.alive(pid, marker=str(conf))
            else None
        )

    def _adopt_orphans(self, state: DeploymentState) -> None:
        orphans.adopt(state, run_dir=self.run_dir, state_dir=self.project.state_dir)

    def save(self, state: DeploymentState) -> None:
        self.project.ensure_state_dir()
        state.runtime = self.name
        save_state(self.project.state_file, state)

    # -- instances -------------------------------------------------------------------------

    def start_instance(self, state: DeploymentState, spec: InstanceSpec) -> InstanceRecord:
        self.project.ensure_state_dir()
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC)
        instance_id = f"{spec.track}-{spec.version}-{secrets.token_hex(3)}"
        socket_path = self.run_dir / f"{instance_id}.sock"
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        env = dict(os.environ)
        env.update(self.manifest.services.env)  # never one of the names set below
        env.update(
            MODE=spec.mode,
            APP_VERSION=spec.version,
            APP_PORT=str(self.manifest.services.port),
            APP_SOCKET=str(socket_path),
        )
        env.pop("CHAOS_TOKEN", None)
        if spec.chaos_token:
            env["CHAOS_TOKEN"] = spec.chaos_token
        log_path = self.project.logs_dir / f"{instance_id}.log"
        argv = command.argv(spec.artifact, self.manifest, socket_path)
        # Before the spawn: the supervisor respawns an instance only from its launch file.
        again = launch.Launch(
            argv=argv,
            env=env,
            log=str(log_path),
            socket=str(socket_path),
            track=spec.track,
            artifact=spec.artifact.as_dict() if spec.artifact else None,
        )
        launch.write(self.project.state_dir, instance_id, again)
        pid = _process.spawn(argv, env=env, log_path=log_path)
        record = InstanceRecord(
            id=instance_id,
            track=spec.track,
            mode="canary" if spec.mode == "canary" else "stable",
            version=spec.version,
            pid=pid,
            address=f"unix:{socket_path}",
            log=str(log_path),
            started_at=iso_utc(stamp, timespec="microseconds"),
            artifact=spec.artifact.as_dict() if spec.artifact else None,
        )
        state.instances[instance_id] = record
        return record

    def client(self, instance: InstanceRecord, *, timeout: float = 5.0) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=_socket_path(instance.address))
        return httpx.Client(transport=transport, base_url="http://instance", timeout=timeout)

    def health(self, instance: InstanceRecord) -> Health:
        if not _process.alive(instance.pid, marker=_socket_path(instance.address)):
            return Health(
                False, f"process {instance.pid} has exited (log: {instance.log})", exited=True
            )
        check = self.manifest.services.health
        try:
            with (
                self.client(instance, timeout=check.timeout) as client,
                client.stream("GET", check.path) as response,
            ):
                body = read_at_most(response, MAX_BODY_BYTES)
        except httpx.HTTPError as exc:
            return Health(False, f"{check.path}: {exc.__class__.__name__}: {exc}")
        return judge(check, instance, response.status_code, body)

    def stop_instance(self, state: DeploymentState, instance_id: str) -> None:
        record = state.instances.pop(instance_id, None)
        if record is None:
            return
        _process.terminate(record.pid, marker=_socket_path(record.address), timeout=DRAIN_TIMEOUT_S)
        with contextlib.suppress(FileNotFoundError):
            Path(_socket_path(record.address)).unlink()
        launch.remove(self.project.state_dir, instance_id)

    def supervise(self) -> str | None:
        """Start (or adopt) the supervisor that restarts exited instances (supervisor.py)."""
        found = supervisor_process.ensure_running(
            self.project.state_dir / "supervisor",
            self.project.manifest_path,
            self.manifest.services.restart,
            process_log=self.project.logs_dir / "supervisor.log",
        )
        return f"supervisor (pid {found.pid})" if found.started else None

    # -- routing ---------------------------------------------------------------------------

    def route(self, state: DeploymentState) -> None:
        stable = state.stable_instance()
        if stable is None:
            raise SwiftDeployError("no stable instance to route traffic to")
        canary = state.canary_instance()
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        sockets = {iid: _socket_path(rec.address) for iid, rec in state.instances.items()}
        links = {
            "stable.sock": sockets[stable.id],
            "canary.sock": sockets[canary.id] if canary else sockets[stable.id],
        }
        wanted = round(state.canary_weight * SLOTS / 100) if canary else 0
        route_dir = self.run_dir / ROUTE_DIR
        current = len(list(route_dir.glob("canary-*"))) if route_dir.is_dir() else 0
        # A new nginx config is tested (and loaded) first: if it is invalid, the command
        # fails with the running config and the current routing untouched.
        self._ensure_nginx(state)
        route_dir.mkdir(mode=0o700, exist_ok=True)
        share_with_workers(*sockets.values(), mode=0o660)
        share_with_workers(route_dir, mode=0o710)
        # A request's track is fixed by its slot's marker, then it connects to that track's
        # link: a link is re-pointed only while no slot sends new requests through it to the
        # wrong instance (more canary slots: link first; fewer: markers first).
        if wanted < current:
            mark_slots(route_dir, wanted, SLOTS)
        for name, target_path in links.items():
            _point_symlink(self.run_dir / name, target_path)
        if wanted >= current:
            mark_slots(route_dir, wanted, SLOTS)

    def request_log(self) -> Path:
        return self.project.logs_dir / REQUEST_LOG

    def nginx_config(self) -> str:
        target = nginx_target(
            run_dir=self.run_dir,
            nginx_dir=self.nginx_prefix,
            logs_dir=self.project.logs_dir,
            user=worker_user(),
        )
        return render_nginx(self.manifest, target)

    def _ensure_nginx(self, state: DeploymentState) -> None:
        nginx = _nginx_binary()
        self.nginx_prefix.mkdir(mode=0o700, parents=True, exist_ok=True)
        if worker_identity() is not None:
            if self.run_dir.parent == ROOT_RUN_BASE:
                ROOT_RUN_BASE.mkdir(mode=0o711, parents=True, exist_ok=True)
                os.chmod(ROOT_RUN_BASE, 0o711)  # noqa: S103 (traverse only, no listing)
            self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.run_dir / "nginx-temp").mkdir(mode=0o700, exist_ok=True)
            share_with_workers(self.run_dir, self.run_dir / "nginx-temp", mode=0o710)
        conf_path = self.nginx_prefix / "nginx.conf"
        wanted = self.nginx_config()
        current = conf_path.read_text() if conf_path.exists() else None
        if state.nginx is not None and current == wanted:
            return
        candidate = self.nginx_prefix / "nginx.conf.next"
        atomic_write(candidate, wanted)
        _process.run([*self._nginx_argv(nginx, candidate), "-t"], timeout=30)
        os.replace(candidate, conf_path)
        if state.nginx is not None:
            os.kill(state.nginx.pid, signal.SIGHUP)
            return
        self._stop_orphaned_workers()  # a killed master's workers still hold the port
        _process.run(self._nginx_argv(nginx, conf_path), timeout=30)
        pid = _read_pid(self.nginx_prefix / "nginx.pid", timeout=10)
        state.nginx = ProcessRecord(pid=pid, config=str(conf_path))

    def _nginx_argv(self, nginx: str, conf: Path) -> list[str]:
        error_log = self.project.logs_dir / "nginx-error.log"
        return nginx_argv(nginx, prefix=self.nginx_prefix, conf=conf, error_log=error_log)

    def data_plane_down(self, state: DeploymentState) -> bool:
        return state.nginx is None

    # -- policy engine ---------------------------------------------------------------------

    def start_policy_engine(self, state: DeploymentState) -> ProcessRecord:
        from swiftdeploy.policy.server import start_server

        self.project.ensure_state_dir()
        server = start_server(
            self.project.policies_dir, self.project.state_dir, port=self.manifest.policy.opa_port
        )
        return ProcessRecord(pid=server.pid, config=str(self.project.policies_dir))

    # -- teardown --------------------------------------------------------------------------

    def teardown(self, state: DeploymentState) -> list[str]:
        # The state may be stale, minimal or rebuilt from a corrupt file: also stop every
        # instance whose socket lives in this project's run folder.
        self._adopt_orphans(state)
        stopped: list[str] = []
        # The supervisor first: nothing restarts what is stopped next (named last: the
        # report leads with the data plane).
        supervisor = supervisor_process.stop(self.project.state_dir / "supervisor")
        if state.nginx is not None:
            _process.terminate(state.nginx.pid, marker=state.nginx.config, sig=signal.SIGQUIT)
            stopped.append(f"nginx (pid {state.nginx.pid})")
            state.nginx = None
        for instance_id in list(state.instances):
            pid = state.instances[instance_id].pid
            self.stop_instance(state, instance_id)
            stopped.append(f"{instance_id} (pid {pid})")
        state.stable = state.canary = None
        state.canary_weight = 0
        from swiftdeploy.policy.server import stop_server

        opa_pid = state.opa.pid if state.opa is not None else None
        if stop_server(self.project.state_dir) or opa_pid is not None:
            stopped.append(f"opa (pid {opa_pid})" if opa_pid else "opa")
        state.opa = None
        orphans = self._stop_orphaned_workers()
        if orphans:
            stopped.append(f"{len(orphans)} orphaned nginx worker(s) (pids {orphans})")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.project.state_dir / launch.FOLDER, ignore_errors=True)
        if supervisor is not None:
            stopped.append(f"supervisor (pid {supervisor})")
        return stopped

    def _stop_orphaned_workers(self) -> list[int]:
        """Stop nginx workers whose master is gone (killed -9): they keep the port bound.

        They are found by what ties them to this project, never by name: they hold this
        project's nginx error log open, and their parent is not a live master of ours.
        """
        error_log = str(self.project.logs_dir / "nginx-error.log")
        found: list[psutil.Process] = []
        for proc in psutil.process_iter():
            try:
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if _holds(proc, error_log) and not _holds(proc.parent(), error_log):
                    found.append(proc)  # not a live master's worker, nor the master itself
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        for proc in found:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(found, timeout=5)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        return sorted(proc.pid for proc in found)


# -- process helpers ---------------------------------------------------------------------------


def _holds(proc: psutil.Process | None, path: str) -> bool:
    """Does proc have path open? False when it is gone or not ours to inspect."""
    if proc is None:
        return False
    try:
        return any(f.path == path for f in proc.open_files())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _socket_path(address: str) -> str:
    return address.removeprefix("unix:")


def _nginx_binary() -> str:
    found = os.environ.get("SWIFTDEPLOY_NGINX") or _process.which("nginx")
    if found is None:
        raise CommandFailed(
            "nginx not found: install it (apt-get install nginx-light) or run scripts/setup",
            argv=["nginx"],
            returncode=None,
        )
    return found


def _point_symlink(link: Path, target: str) -> None:
    """Re-point link at target atomically: readers see the old target or the new one."""
    temp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    os.symlink(target, temp)
    os.replace(temp, link)


def _read_pid(path: Path, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text().strip())
        time.sleep(0.05)
    raise SwiftDeployError(f"nginx did not write its pid file {path} within {timeout:g}s")
