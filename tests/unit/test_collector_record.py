from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swiftdeploy.collector.record import Record, parse_line

LINE = b"sd1\t1796196058.209\t200\t0.004\t0.005\tstable\t\t/api/items\n"


def test_a_line_nginx_wrote_parses() -> None:
    assert parse_line(LINE) == Record(
        time=1796196058.209,
        status=200,
        latency_s=0.004,
        track="stable",
        pinned=False,
        path="/api/items",
    )


def test_retries_sum_the_upstream_times_and_no_upstream_falls_back_to_request_time() -> None:
    retried = parse_line(b"sd1\t1.5\t502\t0.001, 0.002 : 0.003\t0.010\tcanary\tcanary\t/x")
    assert retried is not None
    assert retried.latency_s == pytest.approx(0.006)
    assert retried.pinned
    unanswered = parse_line(b"sd1\t1.5\t504\t-\t0.250\tcanary\t\t/x")
    assert unanswered is not None
    assert unanswered.latency_s == 0.25


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"garbage",
        LINE[:20],  # a torn write
        LINE.replace(b"sd1", b"sd2"),  # a format this version does not know
        LINE.replace(b"\t200\t", b"\tabc\t"),
        LINE.replace(b"\t200\t", b"\t42\t"),
        LINE.replace(b"stable", b"blue"),  # not a track
        LINE.replace(b"\t\t/api", b"\tsomeone\t/api"),  # not a pin
        LINE.replace(b"1796196058.209", b"nan"),
        LINE.replace(b"1796196058.209", b"-5"),
        LINE.replace(b"\t0.005\t", b"\tinf\t"),
        LINE.replace(b"/api/items", b"/a\tb"),  # an extra field
        b"sd1\t" + b"x" * 20_000,
    ],
)
def test_malformed_lines_are_rejected_not_guessed(line: bytes) -> None:
    assert parse_line(line) is None


@given(st.binary(max_size=300))
def test_no_input_raises(data: bytes) -> None:
    parse_line(data)
    parse_line(LINE[: len(data) % len(LINE)] + data)
