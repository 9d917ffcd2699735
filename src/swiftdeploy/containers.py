"""What every containerised rendering shares (Compose, Swarm, Kubernetes): images, users, paths.

Inside a container /tmp is a private tmpfs, so the usual shared-/tmp risks do not apply.
"""

from __future__ import annotations

OPA_IMAGE = "openpolicyagent/opa:1.22.2-static"
APP_USER = "1001:1001"
NGINX_USER = "101:101"  # the `nginx` user of the official image
OPA_USER = "1000:1000"
NGINX_LOG_DIR = "/var/log/swiftdeploy"
CONTAINER_TMP = "/tmp"  # noqa: S108
NGINX_CONF_DIR = "/etc/swiftdeploy"  # PROXY_CONF_DIR, mounted read-only into nginx
# The nginx.conf that runs in a container, relative to the manifest: a folder of its own,
# made world-readable by the runtime, so nginx's unprivileged user can read it whatever the
# mode of the project folder (a home folder is 0700). The folder, not the file: a file bind
# mount pins the inode, so nginx would never see an nginx.conf replaced by rename.
PROXY_CONF_DIR = ".swiftdeploy/proxy"
# The folder of the data-plane collector's request log (collector/nginx.py REQUEST_LOG):
# nginx in its container appends there, a bind mount of PROXY_LOG_DIR (relative to the
# manifest), and the collector on the host follows the same file.
PROXY_LOG_DIR = ".swiftdeploy/proxy-log"
NGINX_REQUEST_LOG_DIR = "/var/log/swiftdeploy-requests"
CHAOS_TOKEN_FILE = ".swiftdeploy/chaos.token"  # noqa: S105 - a path, relative to the manifest
GENERATED_NOTE = "generated from manifest.yaml — do not edit (run `swiftdeploy init`)"


def health_probe(
    port: int | str,
    *,
    path: str = "/healthz",
    timeout: float = 2.0,
    status: tuple[int, int] = (200, 399),
    echo: bool = False,
) -> str:
    """A Python one-liner that asks the service's health path inside its own container.

    The service image is Python: its own interpreter is the probe (no curl). It exits 0
    when the answer's status is within `status` (inclusive). `urlopen` already fails on a
    status of 400 or more, so the default range keeps the plain form every file rendered
    before the range was configurable has; any other range reads the status itself. With
    `echo`, the probe always exits 0 once answered and prints the status, a newline and the
    body (at most 64 KiB), so the caller judges it (runtime/health.py).
    """
    seconds = f"{timeout:g}"
    if not echo and status == (200, 399):
        fetch = f"u.urlopen('http://127.0.0.1:{port}{path}', timeout={seconds})"
        return f"import urllib.request as u; {fetch}"
    ask = (
        f"import sys, http.client as h; c = h.HTTPConnection('127.0.0.1', {port}, "
        f"timeout={seconds}); c.request('GET', {path!r}); r = c.getresponse()"
    )
    if echo:
        head = "str(r.status).encode() + bytes([10])"
        body = "r.read(65536).decode('utf-8', 'replace').encode()"  # valid UTF-8 for the host
        return f"{ask}; sys.stdout.buffer.write({head} + {body})"
    low, high = status
    return f"{ask}; sys.exit(0 if {low} <= r.status <= {high} else 1)"
