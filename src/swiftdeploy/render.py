"""Renderings of the manifest: nginx.conf (Jinja2 template) and docker-compose.yml (data → YAML).

Both are pure functions of their inputs, so the same manifest always gives the same bytes.
Injection safety: compose is built as Python data and dumped by yaml.safe_dump, and every
value reaching the nginx template was validated by the manifest models or by
NginxTarget's checks below (no whitespace, quotes, `;`, braces or `$`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swiftdeploy.manifest import Manifest

OPA_IMAGE = "openpolicyagent/opa:1.22.2-static"
OPA_NETWORK = "opa-net"
COMPOSE_PROJECT = "swiftdeploy"
APP_USER = "1001:1001"
NGINX_USER = "101:101"  # the `nginx` user of the official image
OPA_USER = "1000:1000"
NGINX_LOG_DIR = "/var/log/swiftdeploy"
# Inside a container /tmp is a private tmpfs, so the usual shared-/tmp risks do not apply.
CONTAINER_TMP = "/tmp"  # noqa: S108
DEFAULT_SLOT_COUNT = 20
CONNECT_TIMEOUT_S = 2  # nginx -> upstream connect; nginx.proxy_timeout bounds reads and sends
NGINX_CONF_DIR = "/etc/swiftdeploy"  # PROXY_CONF_DIR, mounted read-only into nginx
# The nginx.conf that runs in a container, relative to the manifest: a folder of its own,
# made world-readable by the runtime, so nginx's unprivileged user can read it whatever the
# mode of the project folder (a home folder is 0700). The folder, not the file: a file bind
# mount pins the inode, so nginx would never see an nginx.conf replaced by rename.
PROXY_CONF_DIR = ".swiftdeploy/proxy"
CANARY_PROFILE = "canary"
STABLE_VERSION_VAR = "SWIFTDEPLOY_STABLE_VERSION"
CANARY_VERSION_VAR = "SWIFTDEPLOY_CANARY_VERSION"
CHAOS_TOKEN_VAR = "SWIFTDEPLOY_CHAOS_TOKEN"  # noqa: S105 - a variable name, not a secret
# The swarm stack's interpolation variables: the swarm runtime sets every one of them to
# what should run; the defaults make a plain `docker stack deploy` start the manifest's
# stable version behind nginx.
STABLE_REPLICAS_VAR = "SWIFTDEPLOY_STABLE_REPLICAS"
CANARY_REPLICAS_VAR = "SWIFTDEPLOY_CANARY_REPLICAS"
NGINX_REPLICAS_VAR = "SWIFTDEPLOY_NGINX_REPLICAS"
OPA_REPLICAS_VAR = "SWIFTDEPLOY_OPA_REPLICAS"
# The instance id a task belongs to: a new instance is always a new task, even when its
# version did not change (swarm replaces a task only when the service's spec changes).
STABLE_INSTANCE_VAR = "SWIFTDEPLOY_STABLE_INSTANCE"
CANARY_INSTANCE_VAR = "SWIFTDEPLOY_CANARY_INSTANCE"
INSTANCE_ENV = "SWIFTDEPLOY_INSTANCE"
STACK_NAME = "swiftdeploy"
CHAOS_SECRET = "chaos_token"  # noqa: S105 - the secret's name, not a secret
CHAOS_TOKEN_FILE = ".swiftdeploy/chaos.token"  # noqa: S105 - a path, relative to the manifest
GENERATED_NOTE = "generated from manifest.yaml — do not edit (run `swiftdeploy init`)"

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
    listen: str | None  # None: the manifest's nginx.port (on 127.0.0.1 for "local")
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

    @classmethod
    def local(
        cls,
        *,
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
            name="local",
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
            ]
            if not regex.fullmatch(value)
        ]
        if not self.slots:
            problems.append("slots: empty")
        if problems:
            raise ValueError("unsafe NginxTarget: " + ", ".join(problems))


def compose_nginx_target(
    manifest: Manifest,
    *,
    canary_running: bool | None = None,
    canary_weight: int | None = None,
    stable_service: str | None = None,
) -> NginxTarget:
    """The nginx.conf of the compose stack: upstreams are Compose service names.

    By default it follows the manifest (services.mode, canary.weight); the compose runtime
    passes what actually runs instead. With no canary, the canary upstream is the stable
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
        name="compose",
        listen=str(manifest.nginx.port),
        stable=stable,
        canary=canary,
        slots=slots,
        pid=f"{CONTAINER_TMP}/nginx.pid",
        error_log="stderr",
        access_logs=(f"{NGINX_LOG_DIR}/access.log", "/dev/stdout"),
        temp_dir=CONTAINER_TMP,
    )


def compose_stack_nginx_target(
    manifest: Manifest,
    *,
    canary_running: bool | None = None,
    canary_weight: int | None = None,
    stable_service: str | None = None,
) -> NginxTarget:
    """The compose stack's nginx.conf (what `init` writes and the compose runtime reloads):
    compose_nginx_target without client keep-alive, as the runtime switches by reloads."""
    target = compose_nginx_target(
        manifest,
        canary_running=canary_running,
        canary_weight=canary_weight,
        stable_service=stable_service,
    )
    return replace(target, client_keepalive_s=0)


def local_nginx_target(
    manifest: Manifest,
    state_dir: Path,
    *,
    slot_count: int = DEFAULT_SLOT_COUNT,
    host: str = "127.0.0.1",
) -> NginxTarget:
    """The local runtime's layout under state_dir (.swiftdeploy/): sockets in run/,
    nginx's pid and temp files in nginx/, logs in logs/ — see NginxTarget.local.
    """
    state = state_dir.resolve()
    run = state / "run"
    return NginxTarget.local(
        stable=f"unix:{run}/stable.sock",
        canary=f"unix:{run}/canary.sock",
        slots=[f"unix:{run}/slot-{index:02d}.sock" for index in range(slot_count)],
        state_dir=state / "nginx",
        logs_dir=state / "logs",
        listen=f"{host}:{manifest.nginx.port}",
    )


def render_nginx(manifest: Manifest, target: NginxTarget, *, digest: str | None = None) -> str:
    """nginx.conf for target; `digest` (the manifest's sha256) goes into the header."""
    import jinja2

    if target.listen is None:
        port = manifest.nginx.port
        target = replace(
            target, listen=f"127.0.0.1:{port}" if target.name == "local" else str(port)
        )
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
    return env.get_template("nginx.conf.j2").render(
        target=target,
        digest=digest or "unknown",
        proxy_timeout=manifest.nginx.proxy_timeout,
        connect_timeout=min(CONNECT_TIMEOUT_S, manifest.nginx.proxy_timeout),
        service=manifest.services.name,
        contact=manifest.nginx.contact,
        # nginx exposes request header X-Foo-Bar as $http_x_foo_bar.
        override_header=header,
        override_var=("http_" + header.lower().replace("-", "_")) if header else None,
        errors=_ERRORS,
    )


def _hardening(user: str) -> dict[str, Any]:
    return {
        "user": user,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "restart": "unless-stopped",
    }


def _limits(cpus: str, memory: str) -> dict[str, Any]:
    return {"resources": {"limits": {"cpus": cpus, "memory": memory}}}


def compose_data(manifest: Manifest) -> dict[str, Any]:
    """docker-compose.yml as plain data (so no manifest value can become a YAML key)."""
    svc, nginx, net = manifest.services, manifest.nginx, manifest.network
    health_probe = (
        f"import urllib.request as u; u.urlopen('http://127.0.0.1:{svc.port}/healthz', timeout=2)"
    )
    app: dict[str, Any] = {
        "image": svc.image,
        **_hardening(APP_USER),
        # The compose runtime sets these variables to the versions that run; the defaults
        # make a plain `docker compose up` start the manifest's version.
        "environment": {
            "MODE": "stable",
            "APP_VERSION": f"${{{STABLE_VERSION_VAR}:-{svc.version}}}",
            "APP_PORT": str(svc.port),
        },
        "expose": [str(svc.port)],
        "tmpfs": [CONTAINER_TMP],
        "networks": [net.name],
        "healthcheck": {
            # The service image is Python: its own interpreter probes /healthz (no curl).
            "test": ["CMD", "python3", "-c", health_probe],
            "interval": "2s",
            "timeout": "3s",
            "retries": 5,
            "start_period": "10s",
        },
        "deploy": _limits("1.0", "256M"),
    }
    # The canary track: its own service, started only on `promote canary` (profile).
    app_canary: dict[str, Any] = {
        **copy.deepcopy(app),  # a copy: shared objects would become YAML anchors
        "profiles": [CANARY_PROFILE],
        "environment": {
            "MODE": "canary",
            "APP_VERSION": f"${{{CANARY_VERSION_VAR}:-{svc.version}}}",
            "APP_PORT": str(svc.port),
            "CHAOS_TOKEN": f"${{{CHAOS_TOKEN_VAR}:-}}",
        },
    }
    proxy: dict[str, Any] = {
        "image": nginx.image,
        **_hardening(NGINX_USER),
        "ports": [f"{nginx.port}:{nginx.port}"],
        "command": ["nginx", "-c", f"{NGINX_CONF_DIR}/nginx.conf", "-g", "daemon off;"],
        "volumes": [
            f"./{PROXY_CONF_DIR}:{NGINX_CONF_DIR}:ro",
            f"nginx-logs:{NGINX_LOG_DIR}",
        ],
        "tmpfs": [CONTAINER_TMP, "/run", "/var/cache/nginx"],
        "depends_on": {
            svc.name: {"condition": "service_healthy"},
            "nginx-log-init": {"condition": "service_completed_successfully"},
        },
        "networks": [net.name],
        "healthcheck": {
            # Any HTTP answer (even the app's 404 or our JSON 502) means nginx is serving.
            "test": ["CMD", "curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{nginx.port}/"],
            "interval": "5s",
            "timeout": "3s",
            "retries": 5,
        },
        "deploy": _limits("0.5", "128M"),
    }
    if nginx.port < 1024:
        proxy["cap_add"] = ["NET_BIND_SERVICE"]
    log_init = {
        # A fresh named volume is root-owned; this one-shot step is the only thing running
        # as root, with no network and only CAP_CHOWN, so nginx itself can stay non-root.
        "image": nginx.image,
        **_hardening("0:0"),
        "restart": "no",
        "cap_add": ["CHOWN"],
        "network_mode": "none",
        "entrypoint": ["chown", NGINX_USER, NGINX_LOG_DIR],
        "volumes": [f"nginx-logs:{NGINX_LOG_DIR}"],
    }
    opa = {
        "image": OPA_IMAGE,
        **_hardening(OPA_USER),
        "command": ["run", "--server", "--addr", "0.0.0.0:8181", "/policies"],
        "ports": [f"127.0.0.1:{manifest.policy.opa_port}:8181"],
        "volumes": ["./policies:/policies:ro"],
        "networks": [OPA_NETWORK],
        "healthcheck": {
            # The static image has no shell or curl; the binary itself is the probe.
            "test": ["CMD", "/opa", "version"],
            "interval": "10s",
            "timeout": "3s",
            "retries": 3,
        },
        "deploy": _limits("0.5", "128M"),
    }
    return {
        "name": COMPOSE_PROJECT,
        "services": {
            svc.name: app,
            f"{svc.name}-canary": app_canary,
            "nginx": proxy,
            "nginx-log-init": log_init,
            "opa": opa,
        },
        "networks": {
            net.name: {"name": net.name, "driver": net.driver_type},
            # Project-scoped (no fixed name), so two stacks on one host never share it.
            OPA_NETWORK: {"driver": "bridge"},
        },
        "volumes": {"nginx-logs": {}},
    }


def render_compose(manifest: Manifest, *, digest: str | None = None) -> str:
    import yaml

    header = f"# {GENERATED_NOTE}\n# manifest sha256: {digest or 'unknown'}\n"
    body = yaml.safe_dump(
        compose_data(manifest), sort_keys=True, default_flow_style=False, allow_unicode=True
    )
    return header + body


def _swarm_update(order: str) -> dict[str, Any]:
    return {
        "parallelism": 1,
        "delay": "0s",
        "order": order,
        "failure_action": "rollback",
        "monitor": "5s",
    }


def stack_data(manifest: Manifest) -> dict[str, Any]:
    """docker-stack.yml (Docker Swarm, `docker stack deploy`) as plain data.

    Differences from compose_data, all forced by swarm mode:
    * `endpoint_mode: dnsrr` for the app services: a service name resolves to its tasks'
      addresses (a VIP needs IPVS in the kernel, and nginx resolves names itself anyway);
    * nginx publishes in `mode: host` (the ingress routing mesh needs IPVS too);
    * OPA joins no overlay network: it runs on the host's network namespace and listens on
      127.0.0.1:<policy.opa_port> only (swarm publishing cannot bind an address, so it
      would be 0.0.0.0); containers cannot reach the host's loopback;
    * no `security_opt` (swarm ignores it, so no-new-privileges is not set), no
      `depends_on`, no one-shot log-volume step (nginx logs to a tmpfs and stdout);
    * the canary's chaos token is a Docker secret (a file, CHAOS_TOKEN_FILE).
    Replica counts and versions are variables the swarm runtime sets (see *_VAR above).
    """
    svc, nginx, net = manifest.services, manifest.nginx, manifest.network
    health_probe = (
        f"import urllib.request as u; u.urlopen('http://127.0.0.1:{svc.port}/healthz', timeout=2)"
    )
    tmpfs = [{"type": "tmpfs", "target": CONTAINER_TMP}]

    def hardened(user: str) -> dict[str, Any]:
        return {"user": user, "cap_drop": ["ALL"], "read_only": True}

    def app_service(
        mode: str, replicas_var: str, replicas: int, version_var: str, instance_var: str
    ) -> dict[str, Any]:
        return {
            "image": svc.image,
            **hardened(APP_USER),
            "environment": {
                "MODE": mode,
                "APP_VERSION": f"${{{version_var}:-{svc.version}}}",
                "APP_PORT": str(svc.port),
                INSTANCE_ENV: f"${{{instance_var}:-}}",
            },
            "volumes": copy.deepcopy(tmpfs),
            "networks": [net.name],
            "stop_grace_period": "30s",
            "healthcheck": {
                "test": ["CMD", "python3", "-c", health_probe],
                "interval": "2s",
                "timeout": "3s",
                "retries": 5,
                "start_period": "10s",
            },
            "deploy": {
                "replicas": f"${{{replicas_var}:-{replicas}}}",
                "endpoint_mode": "dnsrr",
                # A new task starts, passes its health check, and only then does the old
                # one stop; a new task that fails is rolled back by swarm itself.
                "update_config": _swarm_update("start-first"),
                "rollback_config": {"parallelism": 1, "order": "start-first"},
                "restart_policy": {"condition": "any", "delay": "2s"},
                **_limits("1.0", "256M"),
            },
        }

    app = app_service("stable", STABLE_REPLICAS_VAR, 1, STABLE_VERSION_VAR, STABLE_INSTANCE_VAR)
    app_canary = app_service(
        "canary", CANARY_REPLICAS_VAR, 0, CANARY_VERSION_VAR, CANARY_INSTANCE_VAR
    )
    if manifest.chaos.auth == "token":
        app_canary["environment"]["CHAOS_TOKEN_FILE"] = f"/run/secrets/{CHAOS_SECRET}"
        app_canary["secrets"] = [
            {"source": CHAOS_SECRET, "target": CHAOS_SECRET, "uid": "1001", "mode": 0o400}
        ]
    proxy: dict[str, Any] = {
        "image": nginx.image,
        **hardened(NGINX_USER),
        "command": ["nginx", "-c", f"{NGINX_CONF_DIR}/nginx.conf", "-g", "daemon off;"],
        # Host mode: the port is bound on this node by the nginx task itself.
        "ports": [
            {"target": nginx.port, "published": nginx.port, "protocol": "tcp", "mode": "host"}
        ],
        "volumes": [
            # The folder, not the file (see PROXY_CONF_DIR).
            {
                "type": "bind",
                "source": f"./{PROXY_CONF_DIR}",
                "target": NGINX_CONF_DIR,
                "read_only": True,
            },
            *copy.deepcopy(tmpfs),
            {"type": "tmpfs", "target": "/run"},
            {"type": "tmpfs", "target": "/var/cache/nginx"},
            {"type": "tmpfs", "target": NGINX_LOG_DIR},
        ],
        "networks": [net.name],
        "healthcheck": {
            "test": ["CMD", "curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{nginx.port}/"],
            "interval": "5s",
            "timeout": "3s",
            "retries": 5,
        },
        "deploy": {
            "replicas": f"${{{NGINX_REPLICAS_VAR}:-1}}",
            # One host port: the new task can only bind it once the old one is gone.
            "update_config": _swarm_update("stop-first"),
            "restart_policy": {"condition": "any", "delay": "2s"},
            **_limits("0.5", "128M"),
        },
    }
    if nginx.port < 1024:
        proxy["cap_add"] = ["NET_BIND_SERVICE"]
    services: dict[str, Any] = {
        svc.name: app,
        f"{svc.name}-canary": app_canary,
        "nginx": proxy,
    }
    if manifest.policy.engine == "opa":
        services["opa"] = {
            "image": OPA_IMAGE,
            **hardened(OPA_USER),
            "command": [
                "run",
                "--server",
                "--addr",
                f"127.0.0.1:{manifest.policy.opa_port}",
                "/policies",
            ],
            "volumes": [
                {"type": "bind", "source": "./policies", "target": "/policies", "read_only": True}
            ],
            "networks": ["host"],
            "deploy": {
                "replicas": f"${{{OPA_REPLICAS_VAR}:-1}}",
                "update_config": _swarm_update("stop-first"),
                "restart_policy": {"condition": "any", "delay": "2s"},
                **_limits("0.5", "128M"),
            },
        }
    data: dict[str, Any] = {
        "version": "3.8",
        "services": services,
        "networks": {
            net.name: {"name": net.name, "driver": "overlay"},
            **({"host": {"external": True, "name": "host"}} if "opa" in services else {}),
        },
    }
    if manifest.chaos.auth == "token":
        data["secrets"] = {CHAOS_SECRET: {"file": f"./{CHAOS_TOKEN_FILE}"}}
    return data


def render_stack(manifest: Manifest, *, digest: str | None = None) -> str:
    import yaml

    header = f"# {GENERATED_NOTE}\n# manifest sha256: {digest or 'unknown'}\n"
    body = yaml.safe_dump(
        stack_data(manifest), sort_keys=True, default_flow_style=False, allow_unicode=True
    )
    return header + body
