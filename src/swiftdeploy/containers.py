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
CHAOS_TOKEN_FILE = ".swiftdeploy/chaos.token"  # noqa: S105 - a path, relative to the manifest
GENERATED_NOTE = "generated from manifest.yaml — do not edit (run `swiftdeploy init`)"


def health_probe(port: int | str, *, path: str = "/healthz", echo: bool = False) -> str:
    """A Python one-liner that fetches the service's health path inside its own container.

    The service image is Python: its own interpreter is the probe (no curl). With `echo`,
    the body is printed, so the caller can read the mode and version it reports.
    """
    fetch = f"u.urlopen('http://127.0.0.1:{port}{path}', timeout=2)"
    if not echo:
        return f"import urllib.request as u; {fetch}"
    return f"import sys, urllib.request as u; r = {fetch}; sys.stdout.write(r.read().decode())"
