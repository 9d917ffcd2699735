"""Start and stop the `opa run --server` process the local runtime uses.

The server binds 127.0.0.1 only; its pid file and log live in the given state folder so
`teardown` (or a later command) can stop it. It is started with _process.spawn, so it
outlives the CLI that started it.

Nobody changes it from the side. It runs with `--authentication=token
--authorization=basic` and a system authz policy that lets only our token (kept in a
0600 file) read and query, and nobody write: a local process cannot PUT a threshold or a
policy (OPA's own hardening guidance). And every decision names the policy that made it:
the policies are served as a bundle whose revision is their digest (policy_digest), built
from a snapshot of the files; OPA reports that revision with each decision (provenance),
and `rebuild_bundle` loads a new bundle (`--watch`) when the files change.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from swiftdeploy._process import reap, run, spawn
from swiftdeploy.errors import PolicyUnavailable
from swiftdeploy.files import atomic_write
from swiftdeploy.policy.binary import find_opa
from swiftdeploy.policy.sources import policy_digest, policy_files

PID_FILE = "opa.pid"
TOKEN_FILE = "opa.token"  # noqa: S105 (the file name, not a secret)
BUNDLE_FILE = "opa-bundle.tar.gz"
LOG_FILE = "opa.log"

# Only our token, and only reads: GET anything, POST a query to the Data API. /health is
# open (it says nothing). Writes (PUT/PATCH/DELETE of data or policies) are refused to all.
AUTHZ_POLICY = """package system.authz

default allow := false

allow if input.path == ["health"]

allow if {
	input.identity == "%(token)s"
	read_only
}

read_only if input.method == "GET"

read_only if {
	input.method == "POST"
	input.path[0] == "v1"
	input.path[1] == "data"
}
"""


@dataclass(frozen=True)
class OpaServer:
    pid: int
    url: str
    log_path: Path
    token: str = ""


def token_path(state_dir: Path) -> Path:
    return state_dir / TOKEN_FILE


def read_token(state_dir: Path) -> str | None:
    """The token of the OPA started from state_dir, if there is one."""
    try:
        return token_path(state_dir).read_text().strip() or None
    except OSError:
        return None


def rebuild_bundle(
    policies_dir: Path, state_dir: Path, *, opa_bin: str | None = None, token: str | None = None
) -> str:
    """Build the bundle OPA serves from a snapshot of policies_dir; returns its revision.

    The snapshot makes the revision (the digest of the snapshot) describe exactly the
    files inside the bundle, even if policies/ is edited while this runs. The bundle is
    renamed into place, so OPA's watcher only ever loads a complete one.
    """
    token = token or read_token(state_dir)
    if not token:
        raise PolicyUnavailable("policy engine unavailable: no OPA token in the state folder")
    binary = opa_bin or find_opa()
    with tempfile.TemporaryDirectory(dir=state_dir, prefix=".opa-bundle.") as staging:
        snapshot = Path(staging) / "policies"
        for path in policy_files(policies_dir):
            target = snapshot / path.relative_to(policies_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        revision = policy_digest(snapshot) if snapshot.is_dir() else policy_digest(policies_dir)
        authz = snapshot / "system" / "authz.rego"
        authz.parent.mkdir(parents=True, exist_ok=True)
        authz.write_text(AUTHZ_POLICY % {"token": token})
        built = Path(staging) / BUNDLE_FILE
        result = run(
            [binary, "build", "-b", str(snapshot), "-r", revision, "-o", str(built)],
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise PolicyUnavailable(f"policy engine unavailable: opa build failed: {tail}")
        os.chmod(built, 0o600)  # it holds the token
        os.replace(built, state_dir / BUNDLE_FILE)
    return revision


def _pid_path(state_dir: Path) -> Path:
    return state_dir / PID_FILE


def _running_opa(pid: int) -> bool:
    """True when pid is alive and is an opa process (pids get reused)."""
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and any("opa" in part for part in proc.cmdline()[:1])
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def wait_healthy(url: str, *, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/health", timeout=0.5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.05)
    raise PolicyUnavailable(f"policy engine unavailable: OPA at {url} not healthy ({last})")


def start_server(
    policies_dir: Path,
    state_dir: Path,
    *,
    port: int = 8181,
    opa_bin: str | None = None,
    timeout_s: float = 10.0,
) -> OpaServer:
    """Start OPA serving policies_dir on 127.0.0.1:port (reusing a running one) and wait."""
    url = f"http://127.0.0.1:{port}"
    pid_path = _pid_path(state_dir)
    log_path = state_dir / "logs" / LOG_FILE
    if pid_path.is_file():
        with contextlib.suppress(ValueError):
            pid = int(pid_path.read_text().strip())
            if _running_opa(pid):
                wait_healthy(url, timeout_s=timeout_s)
                return OpaServer(pid, url, log_path, read_token(state_dir) or "")
    binary = opa_bin or find_opa()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    atomic_write(token_path(state_dir), token + "\n", mode=0o600)
    rebuild_bundle(policies_dir, state_dir, opa_bin=binary, token=token)
    argv = [
        binary, "run", "--server", "--addr", f"127.0.0.1:{port}",
        "--authentication=token", "--authorization=basic", "--watch",
        "--skip-version-check", "--log-level", "error",
        "--bundle", str(state_dir / BUNDLE_FILE),
    ]  # fmt: skip
    pid = spawn(argv, env=dict(os.environ), log_path=log_path)
    atomic_write(pid_path, f"{pid}\n")
    try:
        wait_healthy(url, timeout_s=timeout_s)
    except PolicyUnavailable:
        stop_server(state_dir)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise PolicyUnavailable(
            f"policy engine unavailable: OPA did not start on {url}: {' | '.join(tail)}"
        ) from None
    return OpaServer(pid, url, log_path, token)


def stop_server(state_dir: Path, *, timeout_s: float = 5.0) -> bool:
    """Stop the OPA started from state_dir; False when none was running."""
    pid_path = _pid_path(state_dir)
    try:
        pid = int(pid_path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    stopped = False
    if _running_opa(pid):
        proc = psutil.Process(pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        stopped = True
    reap(pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pid_path)
    return stopped
