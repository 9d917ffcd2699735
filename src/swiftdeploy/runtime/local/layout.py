"""Where the local runtime's files live, and the nginx.conf that points at them.

The one layout both the runtime and `validate` render: sockets in a short run folder,
nginx's pid and temp files in its prefix, logs in the project's log folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

from swiftdeploy.collector.nginx import REQUEST_LOG
from swiftdeploy.nginx_conf import DEFAULT_SLOT_COUNT, NginxTarget
from swiftdeploy.project import Project

SLOTS = DEFAULT_SLOT_COUNT  # weighted routing in steps of 100 / SLOTS = 5 %
ROOT_RUN_BASE = Path("/run/swiftdeploy")
ROUTE_DIR = "route"  # canary-NN marker files: which weighted slots go to the canary
WORKER_USER = "nobody"
WORKER_GROUPS = ("nogroup", "nobody")


def run_dir_for(project: Project) -> Path:
    """A short folder for sockets: AF_UNIX paths must stay under 108 bytes.

    As root, the nginx workers run as `nobody` and must traverse every folder on the
    way to the sockets, so the folder lives under /run/swiftdeploy (0711), not under a
    private temp or runtime folder.
    """
    digest = hashlib.sha256(str(project.root).encode()).hexdigest()[:12]
    if os.geteuid() == 0 and worker_identity() is not None:
        base = ROOT_RUN_BASE
    else:
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / f"swiftdeploy-{digest}"


def nginx_target(
    *,
    run_dir: Path,
    nginx_dir: Path,
    logs_dir: Path,
    slot_count: int = SLOTS,
    user: str | None = None,
) -> NginxTarget:
    """nginx connects to the symlinks in run_dir (`stable.sock`, `canary.sock`); the marker
    files in run_dir/route send weighted slots to the canary; every request is logged for
    the collector in logs_dir/REQUEST_LOG."""
    target = NginxTarget.host_process(
        name="local",
        stable=f"unix:{run_dir / 'stable.sock'}",
        canary=f"unix:{run_dir / 'canary.sock'}",
        slots=[f"unix:{run_dir / f'slot-{index:02d}.sock'}" for index in range(slot_count)],
        state_dir=nginx_dir,
        logs_dir=logs_dir,
        user=user,
    )
    target = dataclasses.replace(
        target,
        collector_log=str(logs_dir.resolve() / REQUEST_LOG),
        route_dir=str(run_dir / ROUTE_DIR),
    )
    if user is not None:
        # Unprivileged workers write request bodies to the temp folders: keep those in
        # the run folder they can traverse, not inside a possibly private project.
        target = dataclasses.replace(target, temp_dir=str(run_dir / "nginx-temp"))
    return target


def local_nginx_target(state_dir: Path, *, slot_count: int = SLOTS) -> NginxTarget:
    """The whole layout under one folder (state_dir/run, /nginx, /logs): for reproducible
    renderings (the golden files) and tests."""
    state = state_dir.resolve()
    return nginx_target(
        run_dir=state / "run",
        nginx_dir=state / "nginx",
        logs_dir=state / "logs",
        slot_count=slot_count,
    )


def worker_identity() -> tuple[str, int] | None:
    """("user group", gid) the nginx workers drop to when the CLI runs as root, else None.

    Workers parse untrusted requests: they run as `nobody`, never as root. They reach
    only what is shared with that group: the socket folder (traverse), the instance
    sockets (0660) and nginx's temp folders, never the state or token files (0600).
    """
    if os.geteuid() != 0:
        return None  # an unprivileged master cannot switch users anyway
    import grp
    import pwd

    try:
        user = pwd.getpwnam(WORKER_USER)
    except KeyError:
        return None
    for name in WORKER_GROUPS:
        with contextlib.suppress(KeyError):
            group = grp.getgrnam(name)
            return f"{user.pw_name} {group.gr_name}", group.gr_gid
    group = grp.getgrgid(user.pw_gid)
    return f"{user.pw_name} {group.gr_name}", group.gr_gid


def worker_user() -> str | None:
    identity = worker_identity()
    return identity[0] if identity else None


def share_with_workers(*paths: Path | str, mode: int) -> None:
    """Give the workers' group `mode` on paths (traverse a folder, connect to a socket)."""
    identity = worker_identity()
    if identity is None:
        return
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, -1, identity[1])
            os.chmod(path, mode)


def nginx_argv(nginx: str, *, prefix: Path, conf: Path, error_log: Path) -> list[str]:
    return [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]
