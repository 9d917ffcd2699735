"""The nginx side of the collector: how each request gets its track, and the log line.

Why not `$upstream_addr`: the local runtime's weighted upstream connects to slot symlinks
(`slot-07.sock`) that are re-pointed to switch traffic, so the logged address names a
slot, and which instance the kernel resolved it to at connect time is not recorded; the
compose runtime logs a container IP. Both are ambiguous exactly around a switch. So nginx
decides the *track* first, in a variable, and routes by it:

  1. `split_clients` hashes `$request_id` into one of SLOTS equal slots;
  2. the slot's track is `canary` when the runtime marked that slot for the canary: a
     marker file `<route_dir>/canary-NN` (checked per request, so a switch is a file
     create/unlink, no reload) — or, where nginx is reloaded to switch (compose, swarm),
     a rendered `map` of the slots to tracks;
  3. the header override (`X-Canary: always|never`) wins and is logged as `pinned`;
  4. `proxy_pass http://app_$swiftdeploy_track` sends it to that track's upstream.

The variable that routed the request is the one logged, so the track in the log is the
track that served it, whatever the service answers and however the symlinks move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FORMAT_NAME = "swiftdeploy_collector"
REQUEST_LOG = "requests.log"  # the file's name, in whichever folder a runtime gives it
SLOTS = 20
# Tab-separated; the path last. Matches record.parse_line (TAG, FIELD_COUNT).
LOG_FORMAT = (
    "sd1\\t$msec\\t$status\\t$upstream_response_time\\t$request_time"
    "\\t$swiftdeploy_track\\t$swiftdeploy_pin\\t$uri"
)
_PATH = re.compile(r"/[A-Za-z0-9._/+-]+")
_VAR = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Directives:
    """Text to place in nginx.conf: `http` inside `http {}`, `server` inside the proxy's
    `server {}`, `location` inside its `location /`.

    The access_log is at server level so that requests answered by an `error_page` named
    location (nginx's own 502/503/504) are logged too. nginx does not add access_log
    directives across levels — a server-level one replaces the http-level ones — so the
    template's other access_log lines move into the server block beside it.
    """

    http: str
    server: str
    location: str


def directives(
    log_path: str,
    *,
    override_var: str | None = "http_x_canary",
    route_dir: str | None = None,
    canary_slots: int = 0,
    slots: int = SLOTS,
    flush_ms: int | None = None,
) -> Directives:
    """The collector's nginx directives.

    With `route_dir` the canary share is read per request from marker files there (see
    `mark_slots`); without it, `canary_slots` of the `slots` go to the canary in a rendered
    map, for runtimes that reload nginx to switch. `override_var` is the header variable
    (`http_x_canary` for `X-Canary`); None when no header may choose a track. `flush_ms`
    buffers the log in nginx (64 KiB, written at the latest after flush_ms): fewer write(2)
    calls, and the collector must be started with the same `--log-flush-ms`, so it never
    calls a second complete too early.
    """
    if not _PATH.fullmatch(log_path) or (route_dir is not None and not _PATH.fullmatch(route_dir)):
        raise ValueError(f"unsafe path in collector directives: {log_path!r}, {route_dir!r}")
    if override_var is not None and not _VAR.fullmatch(override_var):
        raise ValueError(f"unsafe header variable {override_var!r}")
    if flush_ms is not None and not 1 <= flush_ms <= 10_000:
        raise ValueError(f"flush_ms must be 1-10000, got {flush_ms}")
    if not 1 <= slots <= 100 or 100 % slots or not 0 <= canary_slots <= slots:
        raise ValueError(f"bad slot split: {canary_slots} of {slots}")
    width = len(str(slots - 1))
    names = [f"{i:0{width}d}" for i in range(slots)]
    share = 100 // slots
    split = (
        "".join(f"        {share}% {name};\n" for name in names[:-1]) + f"        * {names[-1]};\n"
    )
    pins = "        always  canary;\n        never   stable;\n" if override_var else ""
    http = (
        f"    log_format {FORMAT_NAME} '{LOG_FORMAT}';\n"
        f"    map ${override_var or 'host'} $swiftdeploy_pin {{\n"
        '        default "";\n'
        f"{pins}"
        "    }\n"
        '    split_clients "${request_id}" $swiftdeploy_slot {\n'
        f"{split}"
        "    }\n"
    )
    if route_dir is None:
        everything = canary_slots == slots
        marked = "".join(f"        {name} canary;\n" for name in names[:canary_slots])
        http += (
            "    map $swiftdeploy_slot $swiftdeploy_weighted {\n"
            f"        default {'canary' if everything else 'stable'};\n"
            f"{'' if everything else marked}"
            "    }\n"
        )
        choose = "        set $swiftdeploy_track $swiftdeploy_weighted;\n"
    else:
        choose = (
            "        set $swiftdeploy_track stable;\n"
            f"        if (-e {route_dir}/canary-$swiftdeploy_slot) {{\n"
            "            set $swiftdeploy_track canary;\n"
            "        }\n"
        )
    location = (
        f"{choose}"
        '        if ($swiftdeploy_pin != "") {\n'
        "            set $swiftdeploy_track $swiftdeploy_pin;\n"
        "        }\n"
        "        proxy_pass http://app_$swiftdeploy_track;\n"
    )
    buffering = "" if flush_ms is None else f" buffer=64k flush={flush_ms}ms"
    server = f"        access_log {log_path} {FORMAT_NAME}{buffering};\n"
    return Directives(http=http, server=server, location=location)


def mark_slots(route_dir: Path, canary_slots: int, slots: int = SLOTS) -> None:
    """Send `canary_slots` of `slots` to the canary: one marker file per canary slot.

    Each create or unlink is atomic, and a request reads its slot's marker once, so
    every request is routed — and logged — by one consistent decision.
    """
    if not 0 <= canary_slots <= slots:
        raise ValueError(f"canary slots must be 0-{slots}, got {canary_slots}")
    width = len(str(slots - 1))
    route_dir.mkdir(parents=True, exist_ok=True)
    for index in range(slots):
        marker = route_dir / f"canary-{index:0{width}d}"
        if index < canary_slots:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
