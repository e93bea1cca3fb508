"""Two devices as plain text, side by side: what `vfio-tui snapshot` prints for a person.

Each file is shown under a rule with its name; hex dumps are decoded into rows
that fit the column; a row that differs between the two sides is marked `≠`
in the gutter (and `│`, meeting the rules' `┼`, where they agree), so the
difference survives copy and paste, monochrome and screenshots. Text is wrapped
at spaces only: a URL, a path or a word longer than the column is never split;
it gets a line of its own. Everything that came from a host is escaped.
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
from vfio_tui.model.untrusted import printable

SAME, DIFFERENT, CROSS = "│", "≠", "┼"


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
        lines = [f"FAILED: {printable(str(result.error))}"]
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
            return _wrap(f"MALFORMED: {printable(str(exc))}", width)
        data = dump_bytes(parsed)
        lines = result.data.decode("ascii", "replace").splitlines()
        trailer = [
            printable(line)
            for line in lines
            if not line.startswith((MIG_DATA_PREFIX, DEV_DATA_PREFIX))
        ]
        if data is not None:
            return dump_rows(data, width) + trailer
        return trailer
    text = printable(result.data, keep_newlines=True)
    return [piece for line in text.splitlines() for piece in _wrap(line, width)] or ["(empty)"]


def _wrap(line: str, width: int) -> list[str]:
    """`line` cut at spaces to fit `width`; a longer token stays whole on its own line."""
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, break_on_hyphens=False, break_long_words=False) or [line]


def _header(side: Side, width: int) -> list[str]:
    lines = [printable(side.title)]
    if side.snapshot is None:
        return lines + _wrap(f"NOT READ: {printable(str(side.error))}", width)
    snap = side.snapshot
    state = snap.state
    read = snap.file(FileKind.STATE)
    if state is not None:
        label = printable(state.label)
    elif read is None or read.data is None:
        label = "(unreadable)"
    else:
        label = "(not a state)"
    lines += [
        f"device {printable(snap.device)}",
        f"layout {snap.layout.value}",
        f"state  {label}",
    ]
    if state is not None and state.note:
        lines.append(f"note: {printable(state.note)}")
    return [piece for line in lines for piece in _wrap(line, width)]


def render_side_by_side(left: Side, right: Side, width: int = 80) -> str:
    column = max(24, (width - 3) // 2)
    out: list[str] = []

    def pair(a: list[str], b: list[str], compare: bool) -> None:
        for index in range(max(len(a), len(b))):
            x = a[index] if index < len(a) else ""
            y = b[index] if index < len(b) else ""
            mark = DIFFERENT if compare and x != y else SAME
            if len(x) > column:  # a token too long to wrap: whole, on a line of its own
                out.append(x)
                x = ""
            out.append(f"{x:<{column}} {mark} {y}".rstrip())

    heads = [_header(left, column), _header(right, column)]
    if any(len(head[0]) > column for head in heads):
        # Titles (URLs) that do not fit the column are written whole, above the columns.
        for head in heads:
            out.append(head[0])
        heads = [[head[0].split(" ", 1)[0], *head[1:]] for head in heads]
    pair(heads[0], heads[1], compare=False)
    paths = _paths(left, right)
    for path in paths:
        rule = f"── {printable(path)} ".ljust(column, "─")
        out.append(f"{rule}─{CROSS}─{rule}")
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
