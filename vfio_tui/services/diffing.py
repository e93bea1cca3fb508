"""Diffing captures and files: open them cheaply, compare, hash, and export the result.

Inputs of any size are mapped, never read whole; the comparison streams
through them (model/diff.py). A file is taken as a kernel hex dump (`Mig
Data:` / `Dev Data:` lines, as `data`, `migf_data` and `dev_data` print) when
it parses as one, else as raw bytes. A capture's .json stands for its .bin.
Names and metadata are untrusted text: every line written is escaped.
"""

from __future__ import annotations

import io
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vfio_tui.model.diff import (
    Buffer,
    DiffResult,
    HeldListing,
    cmp_listing,
    diff_streams,
    listing_width,
)
from vfio_tui.model.untrusted import printable

if TYPE_CHECKING:
    from vfio_tui.model.fielddiff import FieldDiff

# The dump decoder, the field table, hashing and the capture metadata are imported where
# they are used: `vfio-tui diff` on two large raw files needs none of them (start-up time).

TEXT_LIMIT = 1 << 20  # a kernel hex dump is a few KiB; larger files are raw data


class DiffInputError(ValueError):
    """A file that cannot be compared (missing, unreadable); the message says which."""


@dataclass
class DiffSide:
    """One side of a diff: where it came from, and random access to its bytes."""

    label: str
    data: Buffer
    path: Path | None = None  # a file read directly (raw), for streaming
    detail: str = ""  # when and where it was taken, or how it was read
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    def reader(self) -> io.RawIOBase | io.BytesIO:
        if self.path is not None:
            return open(self.path, "rb", buffering=0)
        return io.BytesIO(bytes(self.data[0 : len(self.data)]))

    def close(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()


def open_file(path: Path, label: str | None = None, detail: str = "") -> DiffSide:
    """A capture or any file: a hex dump is decoded, anything else is mapped as raw bytes."""
    try:
        is_capture = path.suffix == ".json" and path.with_suffix(".bin").is_file()
    except OSError:  # a name too long, a loop: open() below says which
        is_capture = False
    if is_capture:
        try:
            import json

            from vfio_tui.services.captures import Capture

            meta = Capture.from_json(json.loads(path.read_bytes()), path.parent)
            detail = detail or f"{meta.side} {meta.host} {meta.file}"
        except (OSError, ValueError, RecursionError):
            pass  # damaged metadata: the bytes are still worth comparing
        path = path.with_suffix(".bin")
    label = label or str(path)
    try:
        size = path.stat().st_size
        handle = open(path, "rb")  # noqa: SIM115 - kept open for the mapping, closed by close()
    except OSError as exc:
        raise DiffInputError(f"{path}: {exc.strerror}") from None
    if size <= TEXT_LIMIT:
        head = handle.read(TEXT_LIMIT)
        decoded = _decode_dump(head)
        if decoded is not None:
            handle.close()
            return DiffSide(label, decoded, detail=detail or "kernel hex dump, decoded")
    if size == 0:
        handle.close()
        return DiffSide(label, b"", path=path, detail=detail or "raw bytes")
    mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    side = DiffSide(label, mapped, path=path, detail=detail or "raw bytes")
    side._closers += [mapped.close, handle.close]
    return side


def _decode_dump(text: bytes) -> bytes | None:
    if not text.startswith((b"Mig Data:", b"Dev Data:", b"device not migrated!")):
        return None
    from vfio_tui.model.formats import decode_dump
    from vfio_tui.model.layout import FileKind

    for kind in (FileKind.MIGF_DATA, FileKind.DATA, FileKind.DEV_DATA):
        data = decode_dump(kind, text)
        if data is not None:
            return data
    return None


def compare(
    a: DiffSide,
    b: DiffSide,
    *,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep: int | None = None,
    listing: HeldListing | None = None,
) -> DiffResult:
    """Compare two sides; at most `keep` differing ranges are kept, and a `listing` holds
    the first `cmp -l` lines (see diff_streams)."""
    reader_a, reader_b = a.reader(), b.reader()
    try:
        return diff_streams(
            reader_a, reader_b, progress=progress, cancelled=cancelled, keep=keep, listing=listing
        )
    finally:
        reader_a.close()
        reader_b.close()


def sha256s(*sides: DiffSide) -> list[str]:
    """The SHA-256 of each side, hashed in parallel threads (hashlib releases the GIL).

    Read through each side's reader, not its mapping, so memory stays a buffer's worth.
    """
    import hashlib
    import threading

    digests = [""] * len(sides)

    def run(index: int) -> None:
        digest = hashlib.sha256()
        buffer = bytearray(1 << 22)
        view = memoryview(buffer)
        with sides[index].reader() as reader:
            while got := reader.readinto(buffer):
                digest.update(view[:got])
        digests[index] = digest.hexdigest()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(sides))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return digests


def fields(a: DiffSide, b: DiffSide, limit: int = 4096) -> list[FieldDiff]:
    """The field-by-field comparison, for data small enough to be migration data images."""
    if a.size > limit or b.size > limit:
        return []
    from vfio_tui.model.fielddiff import compare_fields

    return compare_fields(bytes(a.data[0 : a.size]), bytes(b.data[0 : b.size]))


def new_listing(a: DiffSide, b: DiffSide) -> HeldListing:
    """A listing to hand to compare(), to list the first differences in the same pass."""
    return HeldListing(listing_width(a.size, b.size))


def cmp_list(a: DiffSide, b: DiffSide, held: HeldListing | None = None) -> Iterator[bytes]:
    """The differing bytes as `cmp -l` lists them (offset from 1, both bytes in octal), as
    blocks of text streamed from both sides: memory stays bounded whatever their size.

    With the listing compare() held, those blocks come first, then the rest from where
    it stopped (nothing more to read when it held it all).
    """
    start = 0
    if held is not None:
        yield from held.blocks
        if held.resume is None:
            return
        start = held.resume
    reader_a, reader_b = a.reader(), b.reader()
    try:
        reader_a.seek(start)
        reader_b.seek(start)
        yield from cmp_listing(reader_a, reader_b, listing_width(a.size, b.size), start)
    finally:
        reader_a.close()
        reader_b.close()


def summary_lines(
    result: DiffResult,
    a: DiffSide,
    b: DiffSide,
    digests: list[str] | None = None,
    *,
    note_kept: bool = True,
) -> list[str]:
    """The verdict first, then where it differs and what each side is."""
    lines = [result.verdict()]
    if result.first_offset is not None:
        lines.append(
            f"first difference at offset 0x{result.first_offset:x} ({result.first_offset})"
        )
    if a.size != b.size:
        from vfio_tui.model.fielddiff import size_note

        lines.append(size_note(a.size, b.size))
    for name, side, index in (("A", a, 0), ("B", b, 1)):
        digest = f"  sha256 {digests[index]}" if digests else ""
        lines.append(f"{name}: {printable(side.label)}  {side.size} bytes{digest}")
        if side.detail:
            lines.append(f"   {printable(side.detail)}")
    if note_kept and not result.complete:
        lines.append("(more differing ranges than are listed; counts are exact)")
    return lines


def field_table(rows: list[FieldDiff]) -> list[str]:
    if not rows:
        return []
    out = [f"{'off':>4}  {'field':<16} {'A':<22} {'B':<22} note"]
    for row in rows:
        mark = "≠" if row.differs else " "
        spec = row.spec
        line = f"{spec.offset:#04x}{mark} {spec.name:<16} {row.a:<22} {row.b:<22} {row.note}"
        out.append(line.rstrip())
    return out


def export_text(
    path: Path, result: DiffResult, a: DiffSide, b: DiffSide, digests: list[str] | None
) -> Path:
    """Write the diff as text: summary, field table, then the `cmp -l` list."""
    body = summary_lines(result, a, b, digests)
    rows = fields(a, b)
    if rows:
        body += ["", "fields:", *field_table(rows)]
    body += ["", "differing bytes (cmp -l: offset from 1, A and B in octal):"]
    from vfio_tui.services.captures import write_atomically

    listing = b"".join(cmp_list(a, b))
    write_atomically(path, ("\n".join(body) + "\n").encode() + listing)
    return path
