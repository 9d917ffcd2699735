"""The service's own settings in the manifest: durations, `services.health`, `services.env`.

Kept apart from manifest.py so that file stays a short description of the whole format;
manifest.py imports these (and the duration parser its own sections use).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

DURATION_RE = re.compile(r"^([0-9]{1,6})(ms|s|m|h)$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(value: object) -> object:
    """`30s`, `2m`, `500ms`, `1h` or a plain number of seconds → seconds (float)."""
    if isinstance(value, bool):
        return value  # let the type check refuse it
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (match := DURATION_RE.fullmatch(value)):
        return int(match[1]) * _DURATION_UNITS[match[2]]
    raise ValueError(f"not a duration such as 30s, 2m or 500ms (got {value!r})")


def bounded_duration(low: float, high: float) -> Any:
    """A duration of low to high seconds (both included)."""
    return Annotated[
        float,
        BeforeValidator(seconds),
        Field(ge=low, le=high),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "minimum": low, "maximum": high},
                    {"type": "string", "pattern": DURATION_RE.pattern},
                ],
                "description": f"seconds ({low:g} to {high:g}), or a duration such as 2s, 500ms",
            }
        ),
    ]


# -- services.env ------------------------------------------------------------------------------

# SwiftDeploy sets these in every instance itself; a manifest value would fight it.
RESERVED_ENV = frozenset(
    {"MODE", "APP_VERSION", "APP_PORT", "APP_SOCKET", "CHAOS_TOKEN", "CHAOS_TOKEN_FILE"}
)
RESERVED_ENV_PREFIX = "SWIFTDEPLOY_"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
# Any text on one line: values are written as data, but NUL and line breaks do not survive
# a process environment or `docker inspect`'s KEY=VALUE list faithfully.
ENV_VALUE_PATTERN = r"^[^\x00\r\n]*$"
MAX_ENV_NAME = 128
MAX_ENV_VALUE = 4096
_ENV_NAME_RE = re.compile(ENV_NAME_PATTERN)
_ENV_VALUE_RE = re.compile(ENV_VALUE_PATTERN)


def _env_name(value: str) -> str:
    if len(value) > MAX_ENV_NAME:
        raise ValueError(f"environment variable name is longer than {MAX_ENV_NAME} characters")
    if not _ENV_NAME_RE.fullmatch(value):
        raise ValueError(
            f"not a valid environment variable name ([A-Z_][A-Z0-9_]*) (got {value!r})"
        )
    if value in RESERVED_ENV or value.startswith(RESERVED_ENV_PREFIX):
        raise ValueError(f"'{value}' is set by SwiftDeploy itself")
    return value


def _env_value(value: str) -> str:
    if len(value) > MAX_ENV_VALUE:
        raise ValueError(f"environment value is longer than {MAX_ENV_VALUE} characters")
    if not _ENV_VALUE_RE.fullmatch(value):
        raise ValueError("environment value must be one line (no NUL, CR or LF)")
    return value


EnvName = Annotated[
    str,
    Field(json_schema_extra={"pattern": ENV_NAME_PATTERN, "maxLength": MAX_ENV_NAME}),
    AfterValidator(_env_name),
]
EnvValue = Annotated[
    str,
    Field(json_schema_extra={"pattern": ENV_VALUE_PATTERN, "maxLength": MAX_ENV_VALUE}),
    AfterValidator(_env_value),
]
ServiceEnv = Annotated[
    dict[EnvName, EnvValue],
    Field(max_length=200),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 200,
            "propertyNames": {
                "pattern": ENV_NAME_PATTERN,
                "maxLength": MAX_ENV_NAME,
                "not": {
                    "anyOf": [
                        {"enum": sorted(RESERVED_ENV)},
                        {"pattern": f"^{RESERVED_ENV_PREFIX}"},
                    ]
                },
            },
            "additionalProperties": {
                "type": "string",
                "pattern": ENV_VALUE_PATTERN,
                "maxLength": MAX_ENV_VALUE,
            },
            "description": "environment variables for the service (names SwiftDeploy sets "
            "itself are refused)",
        }
    ),
]


# -- services.health ---------------------------------------------------------------------------

# The path is written into the container probe (a Python string literal) and into YAML, so
# it keeps to URL characters without quotes, backslashes, spaces or `$` (Compose would
# interpolate it); a query string is allowed.
HEALTH_PATH_PATTERN = r"^/[A-Za-z0-9._~!&*+,;=:@%/?-]*$"
MAX_HEALTH_PATH = 256
_HEALTH_PATH_RE = re.compile(HEALTH_PATH_PATTERN)
STATUS_PATTERN = r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?$"
_STATUS_RE = re.compile(STATUS_PATTERN)
DEFAULT_HEALTH_PATH = "/healthz"
DEFAULT_HEALTH_STATUS = "200-399"


def _health_path(value: str) -> str:
    if len(value) > MAX_HEALTH_PATH:
        raise ValueError(f"health path is longer than {MAX_HEALTH_PATH} characters")
    if not _HEALTH_PATH_RE.fullmatch(value):
        raise ValueError(f"not a health path (/ then URL path characters) (got {value!r})")
    return value


def _status_text(value: object) -> object:
    """A number such as 204 is the range 204-204; text is checked by _status_range."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def status_bounds(text: str) -> tuple[int, int]:
    """`200-399` → (200, 399); `204` → (204, 204)."""
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def _status_range(value: str) -> str:
    if not _STATUS_RE.fullmatch(value):
        shown = value if len(value) <= 20 else value[:17] + "..."
        raise ValueError(f"not an HTTP status or range such as 200 or 200-399 (got {shown!r})")
    low, high = status_bounds(value)
    if low > high:
        raise ValueError(f"a status range runs from low to high (got {value!r})")
    return value


HealthPath = Annotated[
    str,
    Field(json_schema_extra={"pattern": HEALTH_PATH_PATTERN, "maxLength": MAX_HEALTH_PATH}),
    AfterValidator(_health_path),
]
StatusRange = Annotated[
    str,
    BeforeValidator(_status_text),
    AfterValidator(_status_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": STATUS_PATTERN},
            ],
            "description": "an HTTP status (204) or an inclusive range (200-399)",
        }
    ),
]


class HealthSpec(BaseModel):
    """How SwiftDeploy and the container engine ask an instance whether it is ready.

    A check passes when GET `path` answers a status in `status` within `timeout` seconds.
    The body may be anything; a JSON object's `mode` and `version` (the demo's) are read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # as every section

    path: HealthPath = DEFAULT_HEALTH_PATH
    status: StatusRange = DEFAULT_HEALTH_STATUS
    timeout: bounded_duration(0.1, 60) = 2.0  # type: ignore[valid-type]
    # The longest pause between two checks (the container engine checks this often). The
    # wait for a new instance starts with 100 ms pauses, doubled up to this, so a service
    # that starts fast gets its traffic fast.
    interval: bounded_duration(0.1, 3600) = 2.0  # type: ignore[valid-type]
    # How long a new instance has to pass a check before it is stopped (no traffic moved).
    start_timeout: bounded_duration(1, 3600) = 60.0  # type: ignore[valid-type]

    def accepts(self, status: int) -> bool:
        low, high = status_bounds(self.status)
        return low <= status <= high
