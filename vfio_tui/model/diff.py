"""Where two byte strings differ, fast and in bounded memory, whatever their size.

Chunks that are equal are skipped at memcmp speed; inside a differing chunk
the bytes that differ are found with one XOR of the chunk as a big integer
and a regex over the non-zero bytes, both in C. Differing runs are kept as
offset ranges in compact arrays (at most MAX_RANGES of them; beyond that the
counts stay exact and the view asks for the next difference on demand).
Inputs can be bytes, memoryviews or mmaps: nothing is copied whole.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

CHUNK = 1 << 20
MAX_RANGES = 1 << 22  # 4 Mi ranges: 64 MiB of offsets at most
_NONZERO = re.compile(rb"[^\x00]+")


class Buffer(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> bytes: ...


@dataclass
class DiffResult:
    size_a: int
    size_b: int
    sha256_a: str = ""
    sha256_b: str = ""
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

    def differs_in(self, start: int, end: int) -> bool:
        """Whether any kept range overlaps [start, end)."""
        index = bisect.bisect_right(self.ends, start)
        return index < len(self.starts) and self.starts[index] < end


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


def diff_buffers(
    a: Buffer,
    b: Buffer,
    *,
    hashes: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DiffResult:
    """Compare `a` and `b` byte by byte at the same offsets."""
    size_a, size_b = len(a), len(b)
    result = DiffResult(size_a, size_b)
    common = min(size_a, size_b)
    hash_a, hash_b = hashlib.sha256(), hashlib.sha256()
    for offset in range(0, max(size_a, size_b), CHUNK):
        if cancelled is not None and cancelled():
            raise InterruptedError("diff cancelled")
        end = offset + CHUNK
        chunk_a, chunk_b = a[offset:end], b[offset:end]
        if hashes:
            hash_a.update(chunk_a)
            hash_b.update(chunk_b)
        if offset < common and chunk_a != chunk_b:
            n = min(len(chunk_a), len(chunk_b))
            xor = int.from_bytes(chunk_a[:n], "little") ^ int.from_bytes(chunk_b[:n], "little")
            if xor:
                for match in _NONZERO.finditer(xor.to_bytes(n, "little")):
                    _add(result, offset + match.start(), offset + match.end())
        if progress is not None:
            progress(min(end, max(size_a, size_b)), max(size_a, size_b))
    if size_a != size_b:
        _add(result, common, max(size_a, size_b))
    if hashes:
        result.sha256_a, result.sha256_b = hash_a.hexdigest(), hash_b.hexdigest()
    return result


def next_difference(a: Buffer, b: Buffer, after: int) -> int | None:
    """The first differing offset > `after` (scans on demand; works past the kept ranges)."""
    common = min(len(a), len(b))
    start = after + 1
    while start < common:
        end = min(start + CHUNK, common)
        chunk_a, chunk_b = a[start:end], b[start:end]
        if chunk_a != chunk_b:
            xor = int.from_bytes(chunk_a, "little") ^ int.from_bytes(chunk_b, "little")
            low = xor & -xor  # lowest set bit: the first differing byte
            return start + (low.bit_length() - 1) // 8
        start = end
    if len(a) != len(b) and after < common:
        return common
    return None


def previous_difference(a: Buffer, b: Buffer, before: int) -> int | None:
    """The last differing offset < `before`."""
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
