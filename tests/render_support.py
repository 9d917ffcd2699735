"""The plain service-name nginx target the golden `nginx.conf` and render tests use."""

from __future__ import annotations

from typing import Any

from swiftdeploy.manifest import Manifest
from swiftdeploy.nginx_conf import NginxTarget, service_name_target


def compose_nginx_target(manifest: Manifest, **kwargs: Any) -> NginxTarget:
    """Upstreams at the Compose service names, with nginx's default client keep-alive."""
    return service_name_target(manifest, name="compose", **kwargs)
