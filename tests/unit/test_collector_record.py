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


_fields = st.tuples(
    st.integers(1_000, 1_100),  # second
    st.integers(0, 999),  # millisecond
    st.sampled_from([200, 201, 404, 499, 500, 503, 42]),
    st.sampled_from(["0.001", "0.004", "0.250", "0.500", "0.501", "-", "0.001, 0.002", "x"]),
    st.sampled_from(["0.003", "0.6", "inf"]),
    st.sampled_from(["stable", "canary", "blue"]),
    st.sampled_from(["", "canary", "stable"]),
    st.sampled_from(["/", "/healthz", "/metrics", "/api/1"]),
)


def _line(fields: tuple[int, int, int, str, str, str, str, str]) -> bytes:
    second, millis, status, upstream, total, track, pin, path = fields
    fields_text = f"{status}\t{upstream}\t{total}\t{track}\t{pin}\t{path}"
    return f"sd1\t{second}.{millis:03d}\t{fields_text}".encode()


@given(st.lists(st.one_of(_fields.map(_line), st.binary(max_size=40)), max_size=60))
def test_batched_ingest_counts_exactly_what_one_line_at_a_time_counts(lines: list[bytes]) -> None:
    from swiftdeploy.collector.core import Collector
    from swiftdeploy.collector.series import Series

    batched = Collector(retention_s=3600, clock=lambda: 1_200.0)
    batched.ingest(lines)
    reference = Series(3600)
    unparseable = 0
    for line in lines:
        record = parse_line(line)
        if record is None:
            unparseable += 1
        else:
            reference.add(record, excluded=record.path in batched.excluded_paths)
    assert batched.unparseable == unparseable
    assert batched.lines == len(lines)
    assert batched.series.codes == reference.codes
    assert batched.series.hist == reference.hist
    assert batched.series.sum_us == reference.sum_us
    assert batched.series.excluded == reference.excluded
    assert dict(batched.series.rings["canary"].items()) == dict(reference.rings["canary"].items())
    assert dict(batched.series.rings["stable"].items()) == dict(reference.rings["stable"].items())
