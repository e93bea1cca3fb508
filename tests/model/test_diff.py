"""The differ against a plain byte-by-byte reference, on any sizes and mutations."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vfio_tui.model import diff as diff_module
from vfio_tui.model.diff import (
    HeldListing,
    cmp_listing,
    diff_bytes,
    diff_streams,
    listing_width,
    next_difference,
    previous_difference,
    render_listing,
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


# --- the `cmp -l` listing ---------------------------------------------------------------


def reference_listing(a: bytes, b: bytes) -> bytes:
    """What `cmp -l` prints, one f-string per differing byte (EOF past the shorter side)."""
    width = len(str(max(len(a), len(b))))
    lines = []
    for i in reference(a, b):
        left = format(a[i], "3o") if i < len(a) else "EOF"
        right = format(b[i], "3o") if i < len(b) else "EOF"
        lines.append(f"{i + 1:{width}d} {left} {right}\n")
    return "".join(lines).encode()


@st.composite
def listing_pairs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Sparse, dense, fully different and alternating differences, across piece sizes."""
    a = draw(st.binary(max_size=200)) * draw(st.integers(1, 700))
    kind = draw(st.sampled_from(["sparse", "all", "alternate", "stretches"]))
    b = bytearray(a)
    if kind == "sparse" and b:
        for at in draw(st.lists(st.integers(0, len(b) - 1), max_size=12)):
            b[at] ^= draw(st.integers(1, 255))
    elif kind == "all":
        b = bytearray(x ^ 0xFF for x in b)
    elif kind == "alternate":
        b[::2] = bytes(x ^ 1 for x in b[::2])
    elif b:
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(0, len(b) - 1))
            stop = min(len(b), start + draw(st.integers(1, 70_000)))
            b[start:stop] = bytes(x ^ 0x40 for x in b[start:stop])
    tail = draw(st.sampled_from(["same", "shorter", "longer"]))
    if tail == "shorter":
        b = b[: draw(st.integers(0, len(b)))]
    elif tail == "longer":
        b += draw(st.binary(min_size=1, max_size=100)) * draw(st.integers(1, 900))
    return a, bytes(b)


@settings(max_examples=40, deadline=None)
@given(listing_pairs(), st.sampled_from([0, 1, 300, 50_000, 8 << 20]))
def test_listing_is_what_cmp_l_prints(pair: tuple[bytes, bytes], limit: int) -> None:
    """Held while diffing up to `limit` bytes, the rest streamed: always cmp -l's lines."""
    a, b = pair
    held = HeldListing(listing_width(len(a), len(b)), limit=limit)
    result = diff_streams(io.BytesIO(a), io.BytesIO(b), keep=1, listing=held)
    assert result.differing_bytes == len(reference(a, b))
    text = b"".join(held.blocks)
    assert len(text) <= limit
    if held.resume is not None:
        rest_a, rest_b = io.BytesIO(a), io.BytesIO(b)
        rest_a.seek(held.resume)
        rest_b.seek(held.resume)
        text += b"".join(cmp_listing(rest_a, rest_b, held.width, held.resume))
    assert text == reference_listing(a, b)
    whole = b"".join(cmp_listing(io.BytesIO(a), io.BytesIO(b), held.width))
    assert whole == reference_listing(a, b)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        st.integers(0, 20_000),
        st.integers(1, 10).map(lambda k: max(0, 10**k - 3000)),  # across powers of ten
        st.integers(0, 10**11),
    ),
    st.integers(1, 70_000),
    st.integers(0, 2),
)
def test_offsets_are_padded_like_cmp(first: int, count: int, extra_digits: int) -> None:
    width = len(str(first + count)) + extra_digits
    a = bytes(range(256)) * (count // 256 + 1)
    b = bytes(x ^ 0xA5 for x in a)
    want = "".join(f"{first + i + 1:{width}d} {a[i]:3o} {b[i]:3o}\n" for i in range(count)).encode()
    assert render_listing(first, a[:count], b[:count], count, width) == want
