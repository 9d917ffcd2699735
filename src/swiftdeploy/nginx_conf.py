"""nginx.conf, rendered from the Jinja2 template for one `NginxTarget`.

A pure function of its inputs: the same manifest and target always give the same bytes.
Every value reaching the template was validated by the manifest models or by
NginxTarget.check (no whitespace, quotes, `;`, braces or `$`), so none can add a directive.
Where a target's upstreams live (sockets, service names) is its runtime's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from swiftdeploy.collector.nginx import SLOTS, Directives, directives
from swiftdeploy.containers import CONTAINER_TMP, NGINX_LOG_DIR
from swiftdeploy.manifest import Manifest

DEFAULT_SLOT_COUNT = 20  # weighted routing in steps of 100 / 20 = 5 %
CONNECT_TIMEOUT_S = 2  # nginx -> upstream connect; nginx.proxy_timeout bounds reads and sends

_SERVER_RE = re.compile(r"unix:/[A-Za-z0-9._/+-]+|[A-Za-z0-9][A-Za-z0-9._-]*:[0-9]{1,5}")
_LISTEN_RE = re.compile(r"(?:[0-9.]+:|\[[0-9A-Fa-f:]+\]:)?[0-9]{1,5}")
_PATH_RE = re.compile(r"/[A-Za-z0-9._/+-]+|stderr")
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?: [A-Za-z0-9_][A-Za-z0-9_.-]*)?")
_ERRORS = (
    (413, "Payload Too Large"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Timeout"),
)


@dataclass(frozen=True)
class NginxTarget:
    """Where one nginx.conf rendering runs: its upstream servers, listen address and paths.

    Servers are `host:port` or `unix:/absolute/path.sock`. `slots` are the members of the
    weighted upstream (repeat a server to weight it). Paths must be absolute.
    """

    name: str
    listen: str | None  # None: the manifest's nginx.port (on 127.0.0.1 when `loopback`)
    stable: str
    canary: str
    slots: tuple[str, ...]
    pid: str
    error_log: str
    access_logs: tuple[str, ...]
    temp_dir: str
    user: str | None = None
    directories: tuple[Path, ...] = field(default=(), compare=False)
    # False where traffic is switched by re-pointing socket symlinks (the local runtime).
    upstream_keepalive: bool = True
    # Client keep-alive (s). 0 where traffic is switched by nginx reloads (compose): a
    # reload closes the old workers' idle keep-alive connections, and a request a client
    # sends on one at that instant is lost; one connection per request loses nothing.
    client_keepalive_s: int = 65
    # Listen on 127.0.0.1 when `listen` is left to the manifest (a host process, not a container).
    loopback: bool = False
    # The data-plane collector's log (collector/nginx.py): with it, nginx chooses each
    # request's track in a variable, routes by it and logs it. `route_dir` holds the marker
    # files that send weighted slots to the canary (switched per request, no reload);
    # without it the slots' tracks are rendered into the config.
    collector_log: str | None = None
    route_dir: str | None = None

    @classmethod
    def host_process(
        cls,
        *,
        name: str,
        stable: str,
        canary: str,
        slots: Sequence[str],
        state_dir: Path,
        logs_dir: Path,
        listen: str | None = None,
        user: str | None = None,
    ) -> NginxTarget:
        """An unprivileged nginx: pid and *_temp_path under state_dir, logs in logs_dir.

        `listen` defaults to 127.0.0.1 and the manifest's nginx.port (filled in at
        render time). Both folders must exist before nginx starts (see `directories`).
        """
        state, logs = state_dir.resolve(), logs_dir.resolve()
        return cls(
            name=name,
            listen=listen,
            stable=stable,
            canary=canary,
            slots=tuple(slots),
            pid=f"{state}/nginx.pid",
            error_log=f"{logs}/nginx-error.log",
            access_logs=(f"{logs}/nginx-access.log",),
            temp_dir=str(state),
            user=user,
            directories=(state, logs),
            upstream_keepalive=False,
            loopback=True,
        )

    def check(self) -> None:
        """Refuse any value that could add an nginx directive; a failure here is a bug."""
        problems = [
            f"{label} {value!r}"
            for label, value, regex in [
                ("name", self.name, re.compile(r"[a-z-]+")),
                *([("listen", self.listen, _LISTEN_RE)] if self.listen is not None else []),
                ("stable", self.stable, _SERVER_RE),
                ("canary", self.canary, _SERVER_RE),
                ("pid", self.pid, _PATH_RE),
                ("error_log", self.error_log, _PATH_RE),
                ("temp_dir", self.temp_dir, _PATH_RE),
                *[("slot", slot, _SERVER_RE) for slot in self.slots],
                *[("access_log", log, _PATH_RE) for log in self.access_logs],
                *([("user", self.user, _USER_RE)] if self.user is not None else []),
                *[
                    (label, path, _PATH_RE)
                    for label, path in (
                        ("collector_log", self.collector_log),
                        ("route_dir", self.route_dir),
                    )
                    if path is not None
                ],
            ]
            if not regex.fullmatch(value)
        ]
        if not self.slots:
            problems.append("slots: empty")
        if problems:
            raise ValueError("unsafe NginxTarget: " + ", ".join(problems))


def render_nginx(manifest: Manifest, target: NginxTarget, *, digest: str | None = None) -> str:
    """nginx.conf for target; `digest` (the manifest's sha256) goes into the header."""
    import jinja2

    if target.listen is None:
        port = manifest.nginx.port
        target = replace(target, listen=f"127.0.0.1:{port}" if target.loopback else str(port))
    target.check()
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("swiftdeploy", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - nginx syntax, not HTML; inputs are validated instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    header = manifest.canary.header_override
    override_var = ("http_" + header.lower().replace("-", "_")) if header else None
    return env.get_template("nginx.conf.j2").render(
        collector=_collector_directives(target, override_var),
        target=target,
        digest=digest or "unknown",
        proxy_timeout=manifest.nginx.proxy_timeout,
        connect_timeout=min(CONNECT_TIMEOUT_S, manifest.nginx.proxy_timeout),
        service=manifest.services.name,
        contact=manifest.nginx.contact,
        # nginx exposes request header X-Foo-Bar as $http_x_foo_bar.
        override_header=header,
        override_var=override_var,
        errors=_ERRORS,
    )


def _collector_directives(target: NginxTarget, override_var: str | None) -> Directives | None:
    """The collector's directives for target, re-indented to their place in the template."""
    if target.collector_log is None:
        return None
    canary_share = 0
    if target.canary != target.stable:
        canary_share = target.slots.count(target.canary) * SLOTS // len(target.slots)
    found = directives(
        target.collector_log,
        override_var=override_var,
        route_dir=target.route_dir,
        canary_slots=canary_share,
    )
    location = "".join(
        f"    {line}" if line.strip() else line for line in found.location.splitlines(True)
    )
    return replace(found, location=location)


def service_name_target(
    manifest: Manifest,
    *,
    name: str,
    canary_running: bool | None = None,
    canary_weight: int | None = None,
    stable_service: str | None = None,
    client_keepalive_s: int = 65,
) -> NginxTarget:
    """An nginx.conf whose upstreams are service names (a Compose or Swarm stack, Kubernetes).

    By default it follows the manifest (services.mode, canary.weight); a runtime passes
    what actually runs instead. With no canary, the canary upstream is the stable
    service, so `X-Canary: always` still answers. A weight under 100 is spread over
    DEFAULT_SLOT_COUNT weighted slots (steps of 5 %). `stable_service` (a service name)
    points the stable track elsewhere while the stable service is being replaced.
    """
    svc = manifest.services
    stable = f"{stable_service or svc.name}:{svc.port}"
    running = svc.mode == "canary" if canary_running is None else canary_running
    weight = manifest.canary.weight if canary_weight is None else canary_weight
    canary = f"{svc.name}-canary:{svc.port}" if running else stable
    share = round(weight * DEFAULT_SLOT_COUNT / 100) if running else 0
    if share >= DEFAULT_SLOT_COUNT:
        slots: tuple[str, ...] = (canary,)
    elif share <= 0:
        slots = (stable,)
    else:
        slots = (canary,) * share + (stable,) * (DEFAULT_SLOT_COUNT - share)
    return NginxTarget(
        name=name,
        listen=str(manifest.nginx.port),
        stable=stable,
        canary=canary,
        slots=slots,
        pid=f"{CONTAINER_TMP}/nginx.pid",
        error_log="stderr",
        access_logs=(f"{NGINX_LOG_DIR}/access.log", "/dev/stdout"),
        temp_dir=CONTAINER_TMP,
        client_keepalive_s=client_keepalive_s,
    )
