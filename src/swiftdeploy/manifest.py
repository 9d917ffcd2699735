"""The manifest: pydantic models, loading with file:line:col errors, and its JSON Schema.

Every value that ends up in a generated file (nginx.conf, docker-compose.yml) is
constrained here to a charset that cannot break out of its syntax, so the renderers
can trust their inputs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from swiftdeploy._manifest_service import DURATION_RE, HealthSpec, ServiceEnv, seconds
from swiftdeploy.errors import ManifestError
from swiftdeploy.runtime.registry import DEFAULT_RUNTIME, RUNTIME_NAMES

if TYPE_CHECKING:
    RuntimeName = str
else:
    RuntimeName = Literal[RUNTIME_NAMES]  # the registry's names, in its order

MAX_MANIFEST_BYTES = 1024 * 1024

# The Docker reference grammar (distribution/reference), without IPv6 hosts.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_PATTERN = (
    rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"
)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
# An e-mail address or a URL-ish contact, but never quotes, spaces, `;`, braces or `$`,
# because it is written inside a quoted nginx string.
CONTACT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._%+@:/-]*$"
ARG_PATTERN = r"^[^\x00]+$"

_IMAGE_RE = re.compile(IMAGE_PATTERN)
_NAME_RE = re.compile(NAME_PATTERN)
_VERSION_RE = re.compile(VERSION_PATTERN)
_CONTACT_RE = re.compile(CONTACT_PATTERN)


def _matcher(regex: re.Pattern[str], what: str, max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        # Length first, so a huge value never reaches the regex engine.
        if len(value) > max_len:
            raise ValueError(f"{what} is longer than {max_len} characters")
        if not regex.fullmatch(value):
            raise ValueError(f"not a valid {what} (got {value!r})")
        return value

    return AfterValidator(check)


ImageRef = Annotated[
    str,
    Field(json_schema_extra={"pattern": IMAGE_PATTERN, "maxLength": 255}),
    _matcher(_IMAGE_RE, "Docker image reference", 255),
]
Name = Annotated[
    str,
    Field(json_schema_extra={"pattern": NAME_PATTERN, "maxLength": 63}),
    _matcher(_NAME_RE, "name ([A-Za-z0-9][A-Za-z0-9_.-]*)", 63),
]
Version = Annotated[
    str,
    Field(json_schema_extra={"pattern": VERSION_PATTERN, "maxLength": 128}),
    _matcher(_VERSION_RE, "version ([A-Za-z0-9][A-Za-z0-9._+-]*)", 128),
]
Contact = Annotated[
    str,
    Field(json_schema_extra={"pattern": CONTACT_PATTERN, "maxLength": 254}),
    _matcher(_CONTACT_RE, "contact (an e-mail address or URL)", 254),
]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _not_reserved(*reserved: str) -> AfterValidator:
    # These names are taken by SwiftDeploy's own Compose services and networks.
    def check(value: str) -> str:
        if value.lower() in reserved:
            raise ValueError(f"'{value}' is reserved for SwiftDeploy's own use")
        return value

    return AfterValidator(check)


RestartPolicy = Literal["always", "on-failure", "no"]


def _yaml_no(value: Any) -> Any:
    # YAML 1.1 reads a bare `no` as false: `restart: no` means the policy "no".
    return "no" if value is False else value


class ServicesSpec(_Section):
    name: Annotated[Name, _not_reserved("nginx", "opa", "nginx-log-init")] = "app"
    image: ImageRef
    port: Port
    mode: Literal["stable", "canary"]
    version: Version
    health: HealthSpec = HealthSpec()
    env: ServiceEnv = {}
    restart: Annotated[RestartPolicy, BeforeValidator(_yaml_no)] = "always"


class NginxSpec(_Section):
    image: ImageRef
    port: Port
    proxy_timeout: Annotated[int, Field(ge=1, le=3600)]
    contact: Contact = "ops@swiftdeploy.local"


class NetworkSpec(_Section):
    name: Annotated[Name, _not_reserved("opa-net")]
    driver_type: Name


class PolicySpec(_Section):
    engine: Literal["embedded", "opa"] = "embedded"
    on_unavailable: Literal["deny", "allow"] = "deny"
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    opa_port: Port = 8181


Duration = Annotated[
    float,
    BeforeValidator(seconds),
    Field(gt=0, le=86400),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
                {"type": "string", "pattern": DURATION_RE.pattern},
            ],
            "description": "seconds, or a duration such as 30s, 2m, 500ms",
        }
    ),
]
HEADER_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"


def _increasing(steps: list[int] | None) -> list[int] | None:
    if steps is not None and any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(f"steps must increase (got {steps})")
    return steps


class CanarySpec(_Section):
    weight: Annotated[int, Field(ge=0, le=100)] = 100
    window_s: Annotated[int, Field(ge=1, le=86400)] = 30
    # Progressive delivery (Argo Rollouts / Flagger style); absent steps = one-shot canary.
    steps: Annotated[
        list[Annotated[int, Field(ge=1, le=100)]] | None,
        Field(min_length=1, max_length=20),
        AfterValidator(_increasing),
    ] = None
    interval: Duration = 30.0
    max_failed_checks: Annotated[int, Field(ge=1, le=100)] = 2
    # `null` switches pinning off: then no client can choose its track (see README).
    header_override: Annotated[str, Field(pattern=HEADER_PATTERN)] | None = "X-Canary"
    progress_deadline: Duration = 600.0


class AnalysisSpec(_Section):
    """Where the gates' figures come from (docs/collector.md)."""

    # proxy: every request as nginx saw it (the collector); app: the service's own /metrics;
    # prometheus: the collector's series by PromQL from the operator's Prometheus.
    source: Literal["proxy", "app", "prometheus"] = "proxy"
    prometheus_url: Annotated[str, Field(pattern=r"^https?://[^\s\x00]{1,2000}$")] | None = None
    # Paths that are not traffic (probes, scrapes): the collector counts them apart, and no
    # gate judges them. Matched exactly against the request's path (nginx's $uri).
    exclude_paths: Annotated[
        list[Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~%+/-]{0,255}$")]],
        Field(max_length=20),
    ] = ["/healthz", "/metrics"]

    @model_validator(mode="after")
    def _url_for_prometheus(self) -> AnalysisSpec:
        if self.source == "prometheus" and self.prometheus_url is None:
            raise ValueError("analysis.source prometheus needs analysis.prometheus_url")
        return self


class NotifySpec(_Section):
    webhook: Annotated[
        list[Annotated[str, Field(pattern=r"^https?://[^\s\x00]{1,2000}$")]],
        Field(max_length=10),
    ] = []


class ChaosSpec(_Section):
    auth: Literal["token", "none"] = "token"


def _ip_literal(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"not an IP address (got {value!r})") from None


class DashboardSpec(_Section):
    """`swiftdeploy dashboard` beside the deployment (docs/dashboard.md)."""

    enabled: bool = False  # deploy starts it, teardown stops it
    port: Port = 8090
    bind: Annotated[str, Field(max_length=45), AfterValidator(_ip_literal)] = "127.0.0.1"
    read_only: bool = False


class LocalSpec(_Section):
    command: (
        Annotated[
            list[Annotated[str, Field(min_length=1, pattern=ARG_PATTERN)]], Field(min_length=1)
        ]
        | None
    ) = None


class Manifest(_Section):
    """The whole manifest; `services`, `nginx` and `network` are required."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, title="SwiftDeploy manifest"
    )

    services: ServicesSpec
    nginx: NginxSpec
    network: NetworkSpec
    runtime: RuntimeName = DEFAULT_RUNTIME
    policy: PolicySpec = PolicySpec()
    canary: CanarySpec = CanarySpec()
    analysis: AnalysisSpec = AnalysisSpec()
    chaos: ChaosSpec = ChaosSpec()
    local: LocalSpec = LocalSpec()
    notify: NotifySpec = NotifySpec()
    dashboard: DashboardSpec = DashboardSpec()

    @model_validator(mode="after")
    def _ports_do_not_clash(self) -> Manifest:
        if self.policy.engine == "opa" and self.policy.opa_port == self.nginx.port:
            raise ValueError(
                f"policy.opa_port {self.policy.opa_port} is nginx.port too: "
                "OPA and nginx cannot listen on the same port"
            )
        return self


def check_field(field: str, value: Any) -> Any:
    """Validate value exactly as the manifest field `section.key` would; ValueError if not.

    The CLI's arguments that stand for a manifest field (`promote --version` for
    services.version, ...) go through this, so they obey the same charset and bounds.
    """
    from pydantic import TypeAdapter, ValidationError

    section, _, key = field.partition(".")
    model = Manifest.model_fields[section].annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise KeyError(field)
    info = model.model_fields[key]
    # A field whose constraints live in its own annotation (local.command) has no metadata,
    # and Annotated needs at least one.
    annotated: Any = (
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(annotated, config=ConfigDict(strict=True))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{message} (the manifest's {field} rule)") from None


def manifest_digest(path: Path) -> str:
    """sha256 of the manifest's bytes, as written into every generated file."""
    return hashlib.sha256(read_manifest_bytes(path)).hexdigest()


def load_manifest(path: Path, *, name: str | None = None) -> Manifest:
    """Read and validate a manifest; raise ManifestError listing every problem.

    `name` is how messages call it (the path as the operator gave it), default path.
    """
    return parse_manifest(read_manifest_bytes(path), name or str(path))


def read_manifest_bytes(path: Path) -> bytes:
    """The manifest's bytes, refusing what cannot be a manifest with one clear line.

    The file is opened without blocking (a FIFO would wait for a writer forever), checked
    to be a regular file on the open descriptor (not by name, which could change), and
    read up to the limit + 1 byte: a device such as /dev/zero never fills the memory.
    """
    import os
    import stat

    from swiftdeploy.files import symlink_problem

    problem = symlink_problem(path)
    if problem:
        raise _error(f"{path}: {problem}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _error(
            f"{path}: manifest not found", hint="run `swiftdeploy init` to write a starter one"
        ) from None
    except IsADirectoryError:
        raise _error(f"{path}: is a directory, not a manifest file") from None
    except OSError as exc:
        raise _error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _error(f"{path}: is a directory, not a manifest file")
        if not stat.S_ISREG(info.st_mode):
            raise _error(f"{path}: not a regular file (a FIFO, socket or device)")
        if info.st_size > MAX_MANIFEST_BYTES:
            raise _error(f"{path}: file is larger than 1 MiB ({info.st_size} bytes)")
        chunks: list[bytes] = []
        left = MAX_MANIFEST_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 65536))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _error(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_MANIFEST_BYTES:  # it grew after the size check
        raise _error(f"{path}: file is larger than 1 MiB")
    return data


def parse_manifest(data: bytes, name: str = "manifest.yaml") -> Manifest:
    """Validate manifest bytes; `name` prefixes every error message."""
    from pydantic import ValidationError

    from swiftdeploy._manifest_yaml import decode_and_compose, describe_errors

    raw, marks = decode_and_compose(data, name)
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = describe_errors(exc.errors(), marks, name, Manifest)
        raise ManifestError(
            f"{name}: {len(problems)} problem(s) in the manifest", problems=problems
        ) from None


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema, as shipped in manifest.schema.json."""
    document = Manifest.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://swiftdeploy.dev/manifest.schema.json",
        **document,
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _error(message: str, *, hint: str | None = None) -> ManifestError:
    exc = ManifestError(message, problems=[message])
    exc.hint = hint
    return exc
