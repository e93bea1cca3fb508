"""Side-by-side hex of two captures, aligned by offset, drawn line by line.

Only the rows on screen are ever read and rendered (the line API), so the cost
follows the screen, not the data: a 256 MiB diff scrolls like a 176-byte one.
Rows of 16 bytes; a differing byte is written in CAPITALS and highlighted, and
its row is marked `≠`, so the difference survives monochrome, screenshots and
copy-paste. Identical stretches are folded to one line once the comparison
is done; both sides are on one line, so they always scroll together.
"""

from __future__ import annotations

import bisect
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vfio_tui.model.diff import Buffer, DiffResult

ROW = 16
CONTEXT = 1  # identical rows kept around a difference
WIDE = 8 + 3 + (ROW * 3 - 1) * 2 + 3  # offset, gutter, two spaced sides


class HexDiffView(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hexdiff--differ",
        "hexdiff--fold",
        "hexdiff--offset",
        "hexdiff--current",
        "hexdiff--missing",
    }
    DEFAULT_CSS = """
    HexDiffView { height: 1fr; }
    HexDiffView > .hexdiff--differ { background: $error; color: $text; text-style: bold; }
    HexDiffView > .hexdiff--fold { color: $text-muted; text-style: italic; }
    HexDiffView > .hexdiff--offset { color: $text-muted; }
    HexDiffView > .hexdiff--current { background: $accent 30%; }
    HexDiffView > .hexdiff--missing { color: $text-muted; }
    """

    def __init__(self, a: Buffer, b: Buffer, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.a, self.b = a, b
        self.rows = (max(len(a), len(b)) + ROW - 1) // ROW
        self.result: DiffResult | None = None
        self.current_row: int | None = None
        # The lines: (first row, end row, folded) segments, and where each begins.
        self._segments: list[tuple[int, int, bool]] = [(0, self.rows, False)]
        self._starts: list[int] = [0]
        self._firsts: list[int] = [0]
        self._update_size()

    # --- the line model -----------------------------------------------------------------

    def set_result(self, result: DiffResult) -> None:
        """Fold identical stretches now that the differences are known."""
        self.result = result
        segments: list[tuple[int, int, bool]] = []
        shown_until = 0
        for start, end in result.ranges():
            first = max(0, start // ROW - CONTEXT)
            last = min(self.rows, (end - 1) // ROW + 1 + CONTEXT)
            if first > shown_until:  # a single row is shown, not folded
                segments.append((shown_until, first, first - shown_until > 1))
            else:
                first = shown_until
            if last > first:
                segments.append((first, last, False))
            shown_until = max(shown_until, last)
        if shown_until < self.rows:
            if result.identical:
                head = min(self.rows, 4)  # a glimpse of the data, then the fold
                segments.append((0, head, False))
                shown_until = head
            if shown_until < self.rows:
                segments.append((shown_until, self.rows, self.rows - shown_until > 1))
        self._segments = segments or [(0, 0, False)]
        self._firsts = [segment[0] for segment in self._segments]
        self._starts = []
        line = 0
        for first, end, folded in self._segments:
            self._starts.append(line)
            line += 1 if folded else end - first
        self._update_size()
        self.refresh()

    def _update_size(self) -> None:
        last_first, last_end, last_folded = self._segments[-1]
        lines = self._starts[-1] + (1 if last_folded else last_end - last_first)
        self.virtual_size = Size(WIDE, lines)

    def _segment_of(self, row: int) -> int:
        return max(0, bisect.bisect_right(self._firsts, row) - 1)

    def line_of_row(self, row: int) -> int:
        """The line showing `row` (its fold line, when the row is folded away)."""
        index = self._segment_of(row)
        first, _end, folded = self._segments[index]
        return self._starts[index] + (0 if folded else row - first)

    def row_folded(self, row: int) -> bool:
        return self._segments[self._segment_of(row)][2]

    def show_offset(self, offset: int) -> None:
        """Scroll so the row holding `offset` is on screen, and mark it."""
        row = offset // ROW
        self.current_row = row
        line = self.line_of_row(row)
        self.scroll_to(y=max(0, line - self.size.height // 3), animate=False)
        self.refresh()

    # --- drawing -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = y + scroll_y
        index = bisect.bisect_right(self._starts, line) - 1
        if index < 0 or index >= len(self._segments):
            return Strip.blank(self.size.width)
        first, end, folded = self._segments[index]
        if folded and line != self._starts[index]:
            return Strip.blank(self.size.width)  # below the last line: one fold line, not many
        if folded:
            count = end - first
            last = min(end * ROW, max(len(self.a), len(self.b))) - 1
            text = f"··· {count} identical rows folded (0x{first * ROW:x} to 0x{last:x}) ···"
            style = self.get_component_rich_style("hexdiff--fold")
            strip = Strip([Segment(text, style)])
        else:
            row = first + line - self._starts[index]
            if row >= end:
                return Strip.blank(self.size.width)
            strip = self._row(row)
        return strip.crop(scroll_x, scroll_x + self.size.width).extend_cell_length(self.size.width)

    def _row(self, row: int) -> Strip:
        start = row * ROW
        chunk_a = self.a[start : start + ROW]
        chunk_b = self.b[start : start + ROW]
        wide = self.size.width >= WIDE
        differ = self.get_component_rich_style("hexdiff--differ")
        missing = self.get_component_rich_style("hexdiff--missing")
        offset_style = self.get_component_rich_style("hexdiff--offset")
        row_style = (
            self.get_component_rich_style("hexdiff--current") if row == self.current_row else None
        )
        differs = chunk_a != chunk_b
        segments = [
            Segment(f"{start:08x}", offset_style),
            Segment(" ≠ " if differs else "   "),
        ]
        for chunk, other in ((chunk_a, chunk_b), (chunk_b, chunk_a)):
            for index in range(ROW):
                if wide and index:
                    segments.append(Segment(" "))
                if index >= len(chunk):
                    segments.append(Segment("--", missing))
                    continue
                byte = chunk[index]
                same = index < len(other) and other[index] == byte
                text = f"{byte:02x}" if same else f"{byte:02X}"
                segments.append(Segment(text, None if same else differ))
            segments.append(Segment(" │ " if chunk is chunk_a else ""))
        strip = Strip(segments)
        if row_style is not None:
            strip = strip.apply_style(Style.combine([row_style]))
        return strip
