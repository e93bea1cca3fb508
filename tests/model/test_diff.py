"""The differ against a plain byte-by-byte reference, on any sizes and mutations."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vfio_tui.model import diff as diff_module
from vfio_tui.model.diff import (
    DiffResult,
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


def flat(result: DiffResult) -> list[int]:
    return [i for s, e in result.ranges() for i in range(s, e)]


@st.composite
def large_pairs(draw: st.DrawFn, chunk: int) -> tuple[bytes, bytes]:
    """Inputs of 2 to 5 chunks, with differences on and around every chunk boundary and
    elsewhere, and sometimes a side that ends inside a chunk."""
    size = draw(st.integers(2 * chunk, 5 * chunk))
    rng = random.Random(draw(st.integers(0, 2**32)))
    a = rng.randbytes(size)
    b = bytearray(a)
    boundaries = [k * chunk + d for k in range(1, size // chunk + 1) for d in (-1, 0, 1)]
    for at in draw(st.lists(st.sampled_from(boundaries), max_size=6)) + draw(
        st.lists(st.integers(0, size - 1), max_size=6)
    ):
        if at < size:
            b[at] ^= draw(st.integers(1, 255))
    tail = draw(st.sampled_from(["same", "shorter", "longer"]))
    if tail == "shorter":
        b = b[: draw(st.integers(chunk, size))]
    elif tail == "longer":
        b += rng.randbytes(draw(st.integers(1, 2 * chunk)))
    return a, bytes(b)


@pytest.mark.parametrize("chunk", [1, 7, 4096, 5000, 3 * 4096 + 5])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_chunk_boundaries_do_not_matter(chunk: int, data: st.DataObject) -> None:
    """Inputs larger than a chunk, compared with the per-byte reference (not the code)."""
    a, b = data.draw(large_pairs(chunk))
    result = diff_streams(io.BytesIO(a), io.BytesIO(b), chunk=chunk)
    assert len(a) > chunk
    want = reference(a, b)
    assert flat(result) == want
    assert (result.differing_bytes, result.size_a, result.size_b) == (len(want), len(a), len(b))


class ShortReads:
    """A reader that hands back at most a few bytes per readinto, as pipes and sockets do."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.stream = io.BytesIO(data)
        self.sizes = sizes or [1]
        self.calls = 0

    def readinto(self, buffer: bytearray, /) -> int:
        size = self.sizes[self.calls % len(self.sizes)]
        self.calls += 1
        view = memoryview(buffer)[:size]
        return self.stream.readinto(view)


@settings(max_examples=40, deadline=None)
@given(pairs(), st.lists(st.integers(1, 700), min_size=1, max_size=5), st.data())
def test_short_reads_give_the_same_diff(
    pair: tuple[bytes, bytes], sizes: list[int], data: st.DataObject
) -> None:
    a, b = pair
    other = data.draw(st.lists(st.integers(1, 700), min_size=1, max_size=5))
    result = diff_streams(ShortReads(a, sizes), ShortReads(b, other), chunk=1024)
    want = reference(a, b)
    assert flat(result) == want, "a short read was taken for the end of a side"
    assert (result.size_a, result.size_b) == (len(a), len(b))
    width = listing_width(len(a), len(b))
    listing = b"".join(cmp_listing(ShortReads(a, sizes), ShortReads(b, other), width))
    assert listing == reference_listing(a, b)


@pytest.mark.parametrize("bit", range(8))
@pytest.mark.parametrize("at", [0, 1, 7, 8, 15, 4095, 4096, 10_000])
def test_next_and_previous_difference_find_the_byte_of_any_bit(at: int, bit: int) -> None:
    """The byte is found whichever bit differs (bits 6 and 7 sit next to the byte boundary)."""
    a = bytes(10_001)
    b = bytearray(a)
    b[at] ^= 1 << bit

    def found(got: int | None, want: int | None, what: str) -> None:
        assert got == want, f"{what} with bit {bit} of byte {at} differing: {got}, not {want}"

    found(next_difference(a, bytes(b), -1), at, "next_difference from the start")
    found(next_difference(a, bytes(b), at - 1), at, "next_difference from the byte before")
    found(next_difference(a, bytes(b), at), None, "next_difference past it")
    found(previous_difference(a, bytes(b), len(a)), at, "previous_difference from the end")
    found(previous_difference(a, bytes(b), at + 1), at, "previous_difference from the byte after")
    found(previous_difference(a, bytes(b), at), None, "previous_difference before it")
    # Two differing bits in neighbouring bytes: each search stops at its own byte.
    if 0 < at < len(a) - 1:
        b[at + 1] ^= 1 << (7 - bit)
        found(next_difference(a, bytes(b), at), at + 1, "next_difference to the neighbour")
        found(previous_difference(a, bytes(b), at + 1), at, "previous_difference to the neighbour")


@st.composite
def navigation_pairs(draw: st.DrawFn) -> tuple[bytes, bytes, int]:
    """Always a difference inside the data, and a starting point near one."""
    size = draw(st.integers(1, 3000))
    rng = random.Random(draw(st.integers(0, 2**32)))
    a = rng.randbytes(size)
    b = bytearray(a)
    spots = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=10, unique=True))
    for at in spots:
        b[at] ^= 1 << draw(st.integers(0, 7))
    tail = draw(st.sampled_from(["same", "same", "shorter", "longer"]))
    if tail == "shorter":
        b = b[: draw(st.integers(max(spots) + 1, size))]
    elif tail == "longer":
        b += rng.randbytes(draw(st.integers(1, 40)))
    at = max(-1, draw(st.sampled_from(spots)) + draw(st.integers(-2, 2)))  # callers pass >= -1
    return a, bytes(b), at


@settings(max_examples=100)
@given(navigation_pairs(), st.sampled_from([7, 64, 1 << 20]))
def test_navigation_with_differences_inside_the_data(
    case: tuple[bytes, bytes, int], chunk: int
) -> None:
    a, b, at = case
    want = reference(a, b)
    assert any(i < min(len(a), len(b)) for i in want), "the draw must differ inside the data"
    after = [i for i in want if i > at]
    before = [i for i in want if i < at]
    result = diff_bytes(a, b)
    assert result.next_after(at) == (after[0] if after else None)
    assert result.previous_before(at) == (before[-1] if before else None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diff_module, "CHUNK", chunk)  # the scan crosses its chunks too
        assert next_difference(a, b, at) == (after[0] if after else None)
        assert previous_difference(a, b, at) == (before[-1] if before else None)


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
