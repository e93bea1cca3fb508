"""The differ against a plain byte-by-byte reference, on any sizes and mutations."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vfio_tui.model import diff as diff_module
from vfio_tui.model.diff import (
    diff_bytes,
    diff_streams,
    next_difference,
    previous_difference,
)


def reference(a: bytes, b: bytes) -> list[int]:
    common = min(len(a), len(b))
    return [i for i in range(common) if a[i] != b[i]] + list(range(common, max(len(a), len(b))))


@st.composite
def pairs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    a = draw(st.binary(max_size=3000))
    b = bytearray(a)
    for _ in range(draw(st.integers(0, 12))):
        if b:
            at = draw(st.integers(0, len(b) - 1))
            b[at] ^= draw(st.integers(1, 255))
    tail = draw(st.sampled_from(["same", "shorter", "longer"]))
    if tail == "shorter":
        b = b[: draw(st.integers(0, len(b)))]
    elif tail == "longer":
        b += draw(st.binary(min_size=1, max_size=40))
    return a, bytes(b)


@given(pairs())
def test_differ_matches_the_reference(pair: tuple[bytes, bytes]) -> None:
    a, b = pair
    result = diff_bytes(a, b)
    want = reference(a, b)
    assert [i for s, e in result.ranges() for i in range(s, e)] == want
    assert result.differing_bytes == len(want)
    assert result.identical == (want == [])
    assert (result.size_a, result.size_b) == (len(a), len(b))
    assert result.first_offset == (want[0] if want else None)
    for start, end in result.ranges():  # runs are maximal: never touching
        assert start < end
    ends = list(result.ends)
    assert all(ends[i] < result.starts[i + 1] for i in range(len(ends) - 1))


@given(pairs(), st.integers(-1, 3100))
def test_navigation_matches_the_reference(pair: tuple[bytes, bytes], at: int) -> None:
    a, b = pair
    result = diff_bytes(a, b)
    want = reference(a, b)
    after = [i for i in want if i > at]
    before = [i for i in want if i < at]
    assert result.next_after(at) == (after[0] if after else None)
    assert next_difference(a, b, at) == (after[0] if after else None)
    assert result.previous_before(at) == (before[-1] if before else None)
    assert previous_difference(a, b, at) == (before[-1] if before else None)


@settings(max_examples=30)
@given(st.integers(1, 5), st.data())
def test_chunk_boundaries_do_not_matter(chunk_kib: int, data: st.DataObject) -> None:
    a = data.draw(st.binary(min_size=0, max_size=20000))
    b = bytearray(a)
    for at in data.draw(st.lists(st.integers(0, max(0, len(a) - 1)), max_size=8)):
        if b:
            b[at] ^= 0xFF
    small = diff_streams(io.BytesIO(a), io.BytesIO(bytes(b)), chunk=chunk_kib * 1024)
    assert small.ranges() == diff_bytes(a, bytes(b)).ranges()


def test_counts_stay_exact_past_the_kept_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff_module, "MAX_RANGES", 3)
    a = bytes(100)
    b = bytes(1 if i % 10 == 0 else 0 for i in range(100))
    result = diff_bytes(a, b)
    assert (result.differing_bytes, result.range_count, len(result.starts)) == (10, 10, 3)
    assert not result.complete
    assert next_difference(a, b, 25) == 30  # the view looks further on demand
