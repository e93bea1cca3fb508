"""Where two byte streams differ: fast, in bounded memory, whatever their size.

Both sides are read chunk by chunk into two reusable buffers (as cmp does);
equal chunks are skipped at memcmp speed. A differing chunk is narrowed down
by comparing 64 KiB blocks, then 4 KiB pieces; in a differing piece the bytes
that differ are found with one XOR of the piece as a big integer, then memchr
over its non-zero bytes, all in C. Runs of differing bytes are kept as offset ranges
in compact arrays (at most MAX_RANGES; beyond that the counts stay exact and
a view looks further on demand with next_difference()).

The `cmp -l` listing (below) is made from the same readers, in bounded memory:
held while diffing up to a limit (HeldListing), streamed after that (cmp_listing).

No I/O here: the caller hands in readers (files, or bytes in a BytesIO).
"""

from __future__ import annotations

import bisect
import io
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

CHUNK = 1 << 20
BLOCK = 1 << 16
PIECE = 1 << 12
MAX_RANGES = 1 << 22  # 4 Mi ranges: 64 MiB of offsets at most
_ONES = bytes([0] + [1] * 255)  # bytes.translate table: 0 stays 0, anything else is 1


class Reader(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


class Buffer(Protocol):
    """Random access to one side (bytes, or an mmap of a capture)."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> bytes: ...


@dataclass
class DiffResult:
    size_a: int
    size_b: int
    differing_bytes: int = 0  # bytes at the same offset that differ, plus the size difference
    range_count: int = 0  # runs of differing bytes (the tail of the longer side is one run)
    starts: array[int] = field(default_factory=lambda: array("Q"))
    ends: array[int] = field(default_factory=lambda: array("Q"))
    complete: bool = True  # False when more ranges exist than are kept

    @property
    def identical(self) -> bool:
        return self.differing_bytes == 0

    @property
    def first_offset(self) -> int | None:
        return self.starts[0] if self.starts else None

    def verdict(self) -> str:
        if self.identical:
            return "identical"
        runs = "range" if self.range_count == 1 else "ranges"
        return f"{self.differing_bytes} bytes differ in {self.range_count} {runs}"

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def next_after(self, offset: int) -> int | None:
        """The first kept differing offset > `offset`."""
        index = bisect.bisect_right(self.ends, offset + 1)
        if index < len(self.starts):
            return max(self.starts[index], offset + 1)
        return None

    def previous_before(self, offset: int) -> int | None:
        """The last kept differing offset < `offset`."""
        index = bisect.bisect_left(self.starts, offset) - 1
        if index >= 0:
            return min(self.ends[index], offset) - 1
        return None


def _add(result: DiffResult, start: int, end: int, keep: int) -> None:
    """Record a differing run, merging it with the previous one when they touch."""
    result.differing_bytes += end - start
    if result.ends and result.ends[-1] == start:
        result.ends[-1] = end
        return
    result.range_count += 1
    if len(result.starts) < keep:
        result.starts.append(start)
        result.ends.append(end)
    else:
        result.complete = False


def _scan(
    result: DiffResult,
    a: bytearray,
    b: bytearray,
    n: int,
    base: int,
    keep: int,
    listing: HeldListing | None,
) -> None:
    """Record the differing bytes among the first `n` of two buffers known to differ.

    Narrows down by equal-slice comparisons (memcmp) from 64 KiB blocks to 4 KiB
    pieces, then finds the bytes that differ in a piece with a XOR and a regex.
    With a listing, each differing piece's `cmp -l` lines are held too (while they fit).
    """
    view_b = memoryview(b)  # compared without a copy
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        if a[start:end] == view_b[start:end]:
            continue
        for piece in range(start, end, PIECE):
            stop = min(piece + PIECE, end)
            piece_a, piece_b = a[piece:stop], b[piece:stop]
            if piece_a == piece_b:
                continue
            runs = _differing_runs(piece_a, piece_b)
            for run_start, run_end in runs:
                _add(result, base + piece + run_start, base + piece + run_end, keep)
            if listing is not None and listing.resume is None:
                listing.hold(
                    base + piece, _render_runs(base + piece, piece_a, piece_b, runs, listing.width)
                )


def _fill(reader: Reader, buffer: bytearray) -> int:
    """Read until the buffer is full or the stream ends (a read may return less)."""
    view = memoryview(buffer)
    total = 0
    while total < len(buffer):
        got = reader.readinto(view[total:])  # type: ignore[arg-type]
        if not got:
            break
        total += got
    return total


def diff_streams(
    a: Reader,
    b: Reader,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep: int | None = None,
    listing: HeldListing | None = None,
) -> DiffResult:
    """Compare two streams byte by byte at the same offsets.

    At most `keep` ranges are kept (MAX_RANGES by default); the counts are exact anyway.
    A `listing` holds the `cmp -l` lines made on the way, up to its limit; the rest
    (and the tail of the longer side) is left to cmp_listing() from `listing.resume`.
    """
    keep = MAX_RANGES if keep is None else keep
    buffer_a, buffer_b = bytearray(chunk), bytearray(chunk)
    result = DiffResult(0, 0)
    offset = 0
    while True:
        if cancelled is not None and cancelled():
            raise InterruptedError("diff cancelled")
        got_a, got_b = _fill(a, buffer_a), _fill(b, buffer_b)
        if not got_a and not got_b:
            break
        common = min(got_a, got_b)
        if common and (got_a != got_b or buffer_a != buffer_b):
            # _scan looks at the first `common` bytes only
            _scan(result, buffer_a, buffer_b, common, offset, keep, listing)
        result.size_a += got_a
        result.size_b += got_b
        offset += max(got_a, got_b)
        if progress is not None:
            progress(offset)
        if got_a != got_b:
            break  # one side ended: the rest of the other is counted below
    rest_a, rest_b = _drain(a, buffer_a), _drain(b, buffer_b)
    result.size_a += rest_a
    result.size_b += rest_b
    if result.size_a != result.size_b:
        common = min(result.size_a, result.size_b)
        _add(result, common, max(result.size_a, result.size_b), keep)
        if listing is not None and listing.resume is None:
            listing.resume = common
    return result


def _drain(reader: Reader, buffer: bytearray) -> int:
    total = 0
    while got := _fill(reader, buffer):
        total += got
    return total


def diff_bytes(a: bytes, b: bytes) -> DiffResult:
    return diff_streams(io.BytesIO(a), io.BytesIO(b))


def next_difference(a: Buffer, b: Buffer, after: int) -> int | None:
    """The first differing offset > `after`, found by scanning (works past kept ranges)."""
    common = min(len(a), len(b))
    start = after + 1
    while start < common:
        end = min(start + CHUNK, common)
        chunk_a, chunk_b = a[start:end], b[start:end]
        if chunk_a != chunk_b:
            xor = int.from_bytes(chunk_a, "little") ^ int.from_bytes(chunk_b, "little")
            low = xor & -xor  # the lowest set bit is in the first differing byte
            return start + (low.bit_length() - 1) // 8
        start = end
    if len(a) != len(b) and after + 1 < max(len(a), len(b)):
        return max(common, after + 1)
    return None


def previous_difference(a: Buffer, b: Buffer, before: int) -> int | None:
    """The last differing offset < `before`, found by scanning."""
    common = min(len(a), len(b))
    if len(a) != len(b) and before > common:
        return min(before, max(len(a), len(b))) - 1  # inside the longer side's tail
    end = min(before, common)
    while end > 0:
        start = max(0, end - CHUNK)
        chunk_a, chunk_b = a[start:end], b[start:end]
        if chunk_a != chunk_b:
            xor = int.from_bytes(chunk_a, "little") ^ int.from_bytes(chunk_b, "little")
            return start + (xor.bit_length() - 1) // 8
        end = start
    return None


# --- the `cmp -l` listing, rendered column by column ------------------------------------
#
# GNU cmp -l prints one line per differing byte: the offset from 1, right-aligned to
# the digits of the larger size, then both bytes in octal, each right-aligned in 3.
# Every line has the same width, so a stretch of consecutive differing bytes is
# rendered into a blank template one column at a time with strided slice assignment
# (C loops): the octal digits come from bytes.translate, the offset digits from
# periodic patterns. Python code runs per stretch (per line only for stretches shorter
# than _SHORT_RUN), so fully different data lists faster than cmp -l itself.

LISTING_PIECE = 1 << 16  # bytes compared and rendered at a time: about 1.2 MiB of text
LISTING_HELD = 8 << 20  # bytes of listing held while diffing, before the verdict is printed
_SHORT_RUN = 8  # shorter stretches are cheaper formatted line by line
_PATTERN_DIGITS = 4  # offset digits below 10**4 repeat with a period of at most 10**4
_SPACE, _ZERO = ord(" "), ord("0")
_OCTAL_COLUMNS = (
    bytes(_SPACE if x < 0o100 else _ZERO + (x >> 6) for x in range(256)),
    bytes(_SPACE if x < 0o10 else _ZERO + ((x >> 3) & 7) for x in range(256)),
    bytes(_ZERO + (x & 7) for x in range(256)),
)
_DIGIT_PATTERNS = [  # for k: digit k of 0 .. 10**(k+1)-1, each digit repeated 10**k times
    b"".join(bytes((_ZERO + digit,)) * 10**k for digit in range(10)) for k in range(_PATTERN_DIGITS)
]


def listing_width(size_a: int, size_b: int) -> int:
    """The width GNU cmp pads offsets to: the digits of the larger size."""
    return len(str(max(size_a, size_b)))


def _digit_column(first: int, count: int, k: int) -> bytes:
    """Digit k (0 = units) of each number first .. first+count-1, a space above its top digit."""
    power = 10**k
    blank = 0 if k == 0 else max(0, min(count, power - first))  # numbers below 10**k
    value, rest = first + blank, count - blank
    parts = [b" " * blank]
    if k < _PATTERN_DIGITS:
        pattern = _DIGIT_PATTERNS[k]
        start = value % len(pattern)
        repeats = (start + rest) // len(pattern) + 1
        parts.append((pattern * repeats)[start : start + rest])
    else:
        end = value + rest
        while value < end:
            stop = min(end, (value // power + 1) * power)
            parts.append(bytes((_ZERO + (value // power) % 10,)) * (stop - value))
            value = stop
    return b"".join(parts)


def render_listing(
    first: int, a: bytes | bytearray | None, b: bytes | bytearray | None, count: int, width: int
) -> bytes:
    """`cmp -l` lines for `count` consecutive differing bytes, the first at offset `first`
    (from 0); None stands for the side that has ended (printed as EOF)."""
    if count < _SHORT_RUN:
        return "".join(
            f"{first + i + 1:{width}d} "
            f"{'EOF' if a is None else format(a[i], '3o')} "
            f"{'EOF' if b is None else format(b[i], '3o')}\n"
            for i in range(count)
        ).encode()
    stride = width + 9
    out = bytearray((b" " * (stride - 1) + b"\n") * count)
    for column in range(width):
        out[column::stride] = _digit_column(first + 1, count, width - 1 - column)
    for place, side in ((width + 1, a), (width + 5, b)):
        for digit in range(3):
            if side is None:
                out[place + digit :: stride] = b"EOF"[digit : digit + 1] * count
            else:
                out[place + digit :: stride] = side.translate(_OCTAL_COLUMNS[digit])
    return bytes(out)


def _differing_runs(a: bytes | bytearray, b: bytes | bytearray) -> list[tuple[int, int]]:
    """The stretches [start, end) where two equal-length pieces differ."""
    xor = int.from_bytes(a, "little") ^ int.from_bytes(b, "little")
    # 1 where they differ: each run is then two memchr calls (a regex is 20x slower here).
    marks = xor.to_bytes(len(a), "little").translate(_ONES)
    runs = []
    end = 0
    while (start := marks.find(1, end)) >= 0:
        end = marks.find(0, start)
        if end < 0:
            end = len(marks)
        runs.append((start, end))
    return runs


def _render_runs(
    base: int, a: bytes | bytearray, b: bytes | bytearray, runs: list[tuple[int, int]], width: int
) -> bytes:
    """The `cmp -l` lines of the differing `runs` of a piece that starts at offset `base`."""
    differing = sum(end - start for start, end in runs)
    if len(runs) > 1 and differing * 4 > len(a):
        # Dense: render every offset once, then keep the lines of the differing ones.
        whole = memoryview(render_listing(base, a, b, len(a), width))
        stride = width + 9
        return b"".join(whole[start * stride : end * stride] for start, end in runs)
    return b"".join(
        render_listing(base + start, a[start:end], b[start:end], end - start, width)
        for start, end in runs
    )


@dataclass
class HeldListing:
    """`cmp -l` lines made while diffing, held until the verdict (which comes first) is out.

    Once they would pass `limit` bytes, no more are made: `resume` says where
    cmp_listing() has to go on from (it is also set where the shorter side ends).
    """

    width: int
    limit: int = LISTING_HELD
    blocks: list[bytes] = field(default_factory=list)
    held: int = 0
    resume: int | None = None

    def hold(self, offset: int, block: bytes) -> None:
        if self.held + len(block) > self.limit:
            self.resume = offset
            return
        self.blocks.append(block)
        self.held += len(block)


def cmp_listing(a: Reader, b: Reader, width: int, start: int = 0) -> Iterator[bytes]:
    """The `cmp -l` listing of two streams, in blocks of text (bounded, whatever the sizes).

    The readers are at offset `start` of their data. Past the end of the shorter side,
    each byte of the longer is listed against EOF.
    """
    buffer_a, buffer_b = bytearray(LISTING_PIECE), bytearray(LISTING_PIECE)
    offset = start
    ended_a = ended_b = False
    while True:
        got_a = 0 if ended_a else _fill(a, buffer_a)
        got_b = 0 if ended_b else _fill(b, buffer_b)
        if not got_a and not got_b:
            return
        common = min(got_a, got_b)
        piece_a, piece_b = buffer_a[:common], buffer_b[:common]
        if common and piece_a != piece_b:
            yield _render_runs(offset, piece_a, piece_b, _differing_runs(piece_a, piece_b), width)
        if got_a > common:
            rest = bytes(buffer_a[common:got_a])
            yield render_listing(offset + common, rest, None, len(rest), width)
        elif got_b > common:
            rest = bytes(buffer_b[common:got_b])
            yield render_listing(offset + common, None, rest, len(rest), width)
        offset += max(got_a, got_b)
        ended_a, ended_b = ended_a or got_a < LISTING_PIECE, ended_b or got_b < LISTING_PIECE
