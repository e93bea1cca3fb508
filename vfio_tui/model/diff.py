"""Where two byte streams differ: fast, in bounded memory, whatever their size.

Both sides are read chunk by chunk into two reusable buffers (as cmp does);
equal chunks are skipped at memcmp speed. A differing chunk is narrowed down
by comparing 64 KiB blocks, then 4 KiB pieces; in a differing piece the bytes
that differ are found with one XOR of the piece as a big integer and a regex
over the non-zero bytes, all in C. Runs of differing bytes are kept as offset ranges
in compact arrays (at most MAX_RANGES; beyond that the counts stay exact and
a view looks further on demand with next_difference()).

No I/O here: the caller hands in readers (files, or bytes in a BytesIO).
"""

from __future__ import annotations

import bisect
import io
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

CHUNK = 1 << 20
BLOCK = 1 << 16
PIECE = 1 << 12
MAX_RANGES = 1 << 22  # 4 Mi ranges: 64 MiB of offsets at most
_NONZERO = re.compile(rb"[^\x00]+")


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


def _add(result: DiffResult, start: int, end: int) -> None:
    """Record a differing run, merging it with the previous one when they touch."""
    result.differing_bytes += end - start
    if result.ends and result.ends[-1] == start:
        result.ends[-1] = end
        return
    result.range_count += 1
    if len(result.starts) < MAX_RANGES:
        result.starts.append(start)
        result.ends.append(end)
    else:
        result.complete = False


def _scan(result: DiffResult, a: bytearray, b: bytearray, n: int, base: int) -> None:
    """Record the differing bytes among the first `n` of two buffers known to differ.

    Narrows down by equal-slice comparisons (memcmp) from 64 KiB blocks to 4 KiB
    pieces, then finds the bytes that differ in a piece with a XOR and a regex.
    """
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        if a[start:end] == b[start:end]:
            continue
        for piece in range(start, end, PIECE):
            stop = min(piece + PIECE, end)
            piece_a, piece_b = a[piece:stop], b[piece:stop]
            if piece_a == piece_b:
                continue
            xor = int.from_bytes(piece_a, "little") ^ int.from_bytes(piece_b, "little")
            for match in _NONZERO.finditer(xor.to_bytes(stop - piece, "little")):
                _add(result, base + piece + match.start(), base + piece + match.end())


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
) -> DiffResult:
    """Compare two streams byte by byte at the same offsets."""
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
            _scan(result, buffer_a, buffer_b, common, offset)  # looks at the first `common`
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
        _add(result, min(result.size_a, result.size_b), max(result.size_a, result.size_b))
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
