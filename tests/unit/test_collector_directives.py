from __future__ import annotations

from pathlib import Path

import pytest

from swiftdeploy.collector.nginx import FORMAT_NAME, directives, mark_slots
from swiftdeploy.collector.record import FIELD_COUNT


def test_the_log_format_has_the_fields_the_parser_expects() -> None:
    d = directives("/srv/logs/collector.log", route_dir="/run/sd/route")
    fmt = d.http.splitlines()[0]
    assert fmt.startswith(f"    log_format {FORMAT_NAME} 'sd1\\t$msec")
    assert fmt.count("\\t") == FIELD_COUNT - 1
    assert "access_log /srv/logs/collector.log swiftdeploy_collector;" in d.server
    assert "if (-e /run/sd/route/canary-$swiftdeploy_slot)" in d.location
    assert d.location.rstrip().endswith("proxy_pass http://app_$swiftdeploy_track;")


def test_twenty_slots_of_five_percent_and_a_rendered_map_without_markers() -> None:
    d = directives("/l/c.log", canary_slots=3, override_var="http_x_pin")
    assert d.http.count("5% ") == 19
    assert "        * 19;\n" in d.http
    assert "map $http_x_pin $swiftdeploy_pin" in d.http
    assert "        00 canary;\n        01 canary;\n        02 canary;\n    }" in d.http
    assert "-e " not in d.location


def test_a_buffered_log() -> None:
    d = directives("/l/c.log", flush_ms=250)
    assert "swiftdeploy_collector buffer=64k flush=250ms;" in d.server


@pytest.mark.parametrize(
    "kwargs",
    [
        {"log_path": "/l/c.log; evil"},
        {"log_path": "relative.log"},
        {"log_path": "/l/c.log", "route_dir": "/r/$x"},
        {"log_path": "/l/c.log", "override_var": "http_x;"},
        {"log_path": "/l/c.log", "canary_slots": 21},
        {"log_path": "/l/c.log", "slots": 7},
        {"log_path": "/l/c.log", "flush_ms": 0},
    ],
)
def test_values_that_could_add_a_directive_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"unsafe|bad|flush_ms"):
        directives(**kwargs)  # type: ignore[arg-type]


def test_mark_slots_creates_exactly_the_canary_markers(tmp_path: Path) -> None:
    mark_slots(tmp_path, 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"canary-{i:02d}" for i in range(7)]
    mark_slots(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary-00", "canary-01"]
    with pytest.raises(ValueError, match="canary slots must be 0-20"):
        mark_slots(tmp_path, 21)
