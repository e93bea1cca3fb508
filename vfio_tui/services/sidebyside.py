"""Two devices as plain text, side by side: what `vfio-tui snapshot` prints for a person.

Each file is shown under a rule with its name; hex dumps are decoded into rows
that fit the column; a row that differs between the two sides is marked `≠`
in the gutter (and `|` where they agree), so the difference survives copy and
paste, monochrome and screenshots.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from vfio_tui.model.explain import explain
from vfio_tui.model.formats import (
    DEV_DATA_PREFIX,
    MIG_DATA_PREFIX,
    FormatError,
    dump_bytes,
    parse_file,
)
from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import DeviceSnapshot, FileResult

SAME, DIFFERENT = "|", "≠"


@dataclass(frozen=True)
class Side:
    """One column: a snapshot, or the reason the host could not be read."""

    title: str
    snapshot: DeviceSnapshot | None = None
    error: str | None = None


def dump_rows(data: bytes, width: int) -> list[str]:
    """Hex rows of 16 or 8 bytes, whichever fits `width`."""
    per_row = 16 if width >= 4 + 2 + 16 * 3 - 1 else 8
    rows = []
    for offset in range(0, len(data), per_row):
        chunk = data[offset : offset + per_row]
        rows.append(f"{offset:04x}: {chunk.hex(' ')}")
    return rows


def file_lines(result: FileResult | None, width: int) -> list[str]:
    """A file's content as lines no wider than `width`."""
    if result is None:
        return ["(no such file)"]
    if result.error is not None:
        lines = [f"FAILED: {result.error}"]
        meaning = explain(result.kind, result.error)
        if meaning:
            lines.append(f"means: {meaning}")
        return [piece for line in lines for piece in _wrap(line, width)]
    assert result.data is not None
    kind = result.kind
    if kind is not None and kind.carries_data:
        try:
            parsed = parse_file(kind, result.data)
        except FormatError as exc:
            return _wrap(f"MALFORMED: {exc}", width)
        data = dump_bytes(parsed)
        lines = result.data.decode("ascii").splitlines()
        trailer = [
            line for line in lines if not line.startswith((MIG_DATA_PREFIX, DEV_DATA_PREFIX))
        ]
        if data is not None:
            return dump_rows(data, width) + trailer
        return trailer
    text = result.data.decode("ascii", "replace")
    return [piece for line in text.splitlines() for piece in _wrap(line, width)] or ["(empty)"]


def _wrap(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, break_on_hyphens=False) or [line[:width]]


def _header(side: Side, width: int) -> list[str]:
    lines = [side.title]
    if side.snapshot is None:
        return lines + _wrap(f"NOT READ: {side.error}", width)
    snap = side.snapshot
    state = snap.state
    label = state.label if state is not None else "(unreadable)"
    lines += [f"device {snap.device}", f"layout {snap.layout.value}", f"state  {label}"]
    if state is not None and state.note:
        lines += _wrap(f"note: {state.note}", width)
    return [piece for line in lines for piece in _wrap(line, width)]


def render_side_by_side(left: Side, right: Side, width: int = 80) -> str:
    column = max(24, (width - 3) // 2)
    out: list[str] = []

    def pair(a: list[str], b: list[str], compare: bool) -> None:
        for index in range(max(len(a), len(b))):
            x = a[index] if index < len(a) else ""
            y = b[index] if index < len(b) else ""
            mark = DIFFERENT if compare and x != y else SAME
            out.append(f"{x:<{column}} {mark} {y}".rstrip())

    pair(_header(left, column), _header(right, column), compare=False)
    paths = _paths(left, right)
    for path in paths:
        rule = f"── {path} ".ljust(column, "─")
        out.append(f"{rule}─┼─{rule}")
        a = file_lines(left.snapshot.files.get(path), column) if left.snapshot else []
        b = file_lines(right.snapshot.files.get(path), column) if right.snapshot else []
        pair(a, b, compare=left.snapshot is not None and right.snapshot is not None)
    return "\n".join(out) + "\n"


def _paths(left: Side, right: Side) -> list[str]:
    present: set[str] = set()
    for side in (left, right):
        if side.snapshot is not None:
            present |= set(side.snapshot.files)
    known = [k.path for k in FileKind if k.path in present]
    return known + sorted(present - set(known))
