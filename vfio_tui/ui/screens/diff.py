"""The diff of saved migration data: the verdict first, then bytes or fields.

By default the latest source capture against the latest destination capture
of the same file; `c` picks any two. The comparison runs in a worker thread,
so the first screen shows at once and the keys keep working while a large
diff is computed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher, Input, Static

from vfio_tui.model.diff import DiffResult, next_difference, previous_difference
from vfio_tui.model.fielddiff import FieldDiff, compare_fields
from vfio_tui.model.untrusted import printable
from vfio_tui.services.captures import Capture, CaptureStore
from vfio_tui.services.diffing import (
    DiffInputError,
    DiffSide,
    compare,
    export_text,
    fields,
    open_file,
    sha256s,
    summary_lines,
)
from vfio_tui.ui.screens.dialogs import PickerScreen
from vfio_tui.ui.widgets.footer import FittingFooter
from vfio_tui.ui.widgets.hexdiff import HexDiffView


def default_pair(captures: list[Capture]) -> tuple[Capture, Capture] | None:
    """The latest source capture against the latest destination capture of the same file."""
    sources = [c for c in captures if c.side == "source"]
    destinations = [c for c in captures if c.side == "destination"]
    if not sources or not destinations:
        return None
    source = sources[-1]
    same_file = [c for c in destinations if c.file == source.file]
    return source, (same_file or destinations)[-1]


class OffsetScreen(ModalScreen[int | None]):
    """Ask for an offset (hex with 0x, or decimal)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="offset-cancel")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                "Go to offset: hex with 0x, or decimal; Enter goes, Esc cancels", classes="title"
            )
            yield Input(placeholder="offset, e.g. 0x40 or 64")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip().lower()
        if not text:
            self.notify("type an offset first: 0x40 or 64", severity="warning")
            return
        try:
            self.dismiss(int(text, 16) if text.startswith("0x") else int(text))
        except ValueError:
            self.notify(
                f"{printable(event.value)!r} is not an offset (0x40 or 64)",
                severity="warning",
                markup=False,
            )

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_difference", "Next diff", id="diff-next"),
        Binding("N", "previous_difference", "Prev diff", id="diff-previous"),
        Binding("g", "goto", "Go to", id="diff-goto"),
        Binding("v", "switch_view", "Bytes/fields", id="diff-view"),
        Binding("c", "choose", "Choose captures", id="diff-choose"),
        Binding("e", "export", "Export", id="diff-export"),
        Binding("escape,q", "app.pop_screen", "Back", id="diff-back"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-header { height: auto; max-height: 12; padding: 0 1;
                              border-bottom: solid $panel-lighten-2; }
    DiffScreen #diff-header.-identical { color: $success; }
    DiffScreen #diff-header.-different { color: $warning; }
    DiffScreen ContentSwitcher { height: 1fr; }
    DiffScreen #fields { padding: 0 1; }
    """

    def __init__(
        self, captures: CaptureStore, a: Capture | None = None, b: Capture | None = None
    ) -> None:
        super().__init__()
        self.store = captures
        self.pair = (a, b) if a is not None and b is not None else default_pair(captures.list())
        self.sides: tuple[DiffSide, DiffSide] | None = None
        self.result: DiffResult | None = None
        self.digests: list[str] | None = None
        self.rows: list[FieldDiff] = []  # the field comparison of the two sides, if small
        self._comparing = 0  # comparisons running in worker threads

    def compose(self) -> ComposeResult:
        yield Static(self._waiting_text(), id="diff-header")
        with ContentSwitcher(initial="nothing"):
            yield Static("", id="nothing")
        yield FittingFooter(compact=True, show_command_palette=False)  # ^p: an app binding

    def _waiting_text(self) -> str:
        if self.pair is None:
            return (
                "no captures of both sides yet: press s on each side (or S), or migrate; "
                "press c here to choose any two captures"
            )
        return "comparing…"

    async def on_mount(self) -> None:
        if self.pair is not None:
            await self._load(*self.pair)

    def on_unmount(self) -> None:
        sides, self.sides = self.sides, None
        self._release(sides)

    def _release(self, sides: tuple[DiffSide, DiffSide] | None) -> None:
        """Close two sides no longer shown; a comparison still running closes its own."""
        if sides is not None and not self._comparing:
            for side in sides:
                side.close()

    # --- loading and comparing ----------------------------------------------------------

    async def _load(self, a: Capture, b: Capture) -> None:
        try:
            sides = (
                open_file(a.data_path, a.label, _where(a)),
                open_file(b.data_path, b.label, _where(b)),
            )
        except DiffInputError as exc:
            self.query_one("#diff-header", Static).update(
                Text(f"cannot compare: {printable(str(exc))}")
            )
            return
        self._release(self.sides)
        self.sides, self.result, self.digests = sides, None, None
        self.rows = fields(*sides)
        if not self.rows and a.kind == b.kind and max(sides[0].size, sides[1].size) <= 4096:
            # dev_data: no magic in its zeroed match header, but the capture knows its layout
            self.rows = compare_fields(
                bytes(sides[0].data[: sides[0].size]), bytes(sides[1].data[: sides[1].size]), a.kind
            )
        switcher = self.query_one(ContentSwitcher)
        await switcher.query("#hex, #fields-scroll").remove()
        hexview = HexDiffView(sides[0].data, sides[1].data, id="hex")
        scroll = VerticalScroll(Static("comparing…", id="fields"), id="fields-scroll")
        hexview.display = scroll.display = False  # the switcher shows one of them
        await switcher.mount(hexview, scroll)
        switcher.current = None
        switcher.current = "fields-scroll" if self.rows else "hex"  # small data: fields first
        self.query_one("#diff-header", Static).update(f"comparing… ({_sizes(*sides)})")
        self._compare(sides)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _compare(self, sides: tuple[DiffSide, DiffSide]) -> None:
        total = max(sides[0].size, sides[1].size) or 1
        last = [0.0]

        def progress(done: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.1:
                last[0] = now
                self.app.call_from_thread(self._show_progress, done / total)

        self._comparing += 1
        try:
            result = compare(*sides, progress=progress, cancelled=lambda: self.sides is not sides)
            if self.sides is sides:
                self.app.call_from_thread(self._show_result, sides, result, None)
                digests = sha256s(*sides)
                if self.sides is sides:
                    self.app.call_from_thread(self._show_result, sides, result, digests)
        except InterruptedError:
            pass  # another pair was chosen, or the screen was closed
        finally:
            self._comparing -= 1
            if self.sides is not sides:
                for side in sides:
                    side.close()

    def _show_progress(self, fraction: float) -> None:
        if self.result is None:
            self.query_one("#diff-header", Static).update(f"comparing… {fraction:.0%}")

    def _show_result(
        self, sides: tuple[DiffSide, DiffSide], result: DiffResult, digests: list[str] | None
    ) -> None:
        if sides is not self.sides:
            return  # another pair was chosen meanwhile
        first_time = self.result is None
        self.result, self.digests = result, digests
        header = self.query_one("#diff-header", Static)
        header.set_class(result.identical, "-identical")
        header.set_class(not result.identical, "-different")
        # host, device and file names are the host's text: escaped where shown
        lines = [printable(line) for line in summary_lines(result, *sides, digests)]
        text = Text(lines[0], style="bold")
        for line in lines[1:]:
            text.append(f"\n{line}")
        if digests is None:
            text.append("\n(SHA-256 being computed…)", style="dim")
        header.update(text)
        if first_time:
            self.query_one(HexDiffView).set_result(result)
            self.query_one("#fields", Static).update(self._field_table(self.rows))
            if result.first_offset is not None:
                self.query_one(HexDiffView).show_offset(result.first_offset)

    def _field_table(self, rows: list[FieldDiff]) -> Table | Text:
        if not rows:
            return Text("no known layout (struct acc_vf_data or mtty): see the bytes view (v)")
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("off")
        table.add_column("field")
        table.add_column("source (A)")
        table.add_column("destination (B)")
        table.add_column("what it means")
        for row in rows:
            mark = "≠ " if row.differs else "  "
            match = "▌" if row.spec.in_match_header else " "
            table.add_row(
                f"{mark}{row.spec.offset:02x}",
                f"{match}{row.spec.name}",
                row.a,
                row.b,
                row.note,
                style="bold" if row.differs else "",
            )
        return table

    # --- keys ---------------------------------------------------------------------------

    def _views(self) -> tuple[HexDiffView, DiffSide, DiffSide] | None:
        if self.sides is None or not self.query(HexDiffView):
            return None
        return self.query_one(HexDiffView), *self.sides

    def action_next_difference(self) -> None:
        self._jump(forward=True)

    def action_previous_difference(self) -> None:
        self._jump(forward=False)

    def _jump(self, forward: bool) -> None:
        found = self._views()
        if found is None or self.result is None:
            self.notify("still comparing…" if self.sides else "nothing to compare")
            return
        view, a, b = found
        self.query_one(ContentSwitcher).current = "hex"
        here = (view.current_row or 0) * 16 + (15 if forward else 0)
        if view.current_row is None:
            here = -1 if forward else max(a.size, b.size)
        if forward:
            target = self.result.next_after(here)
            if target is None and not self.result.complete:
                target = next_difference(a.data, b.data, here)
        else:
            target = self.result.previous_before(here)
            if target is None and not self.result.complete:
                target = previous_difference(a.data, b.data, here)
        if target is None:
            self.notify("no further difference" if forward else "no earlier difference")
            return
        view.show_offset(target)

    @work(group="diff-goto", exclusive=True)
    async def action_goto(self) -> None:
        found = self._views()
        if found is None:
            return
        offset = await self.app.push_screen_wait(OffsetScreen())
        if offset is None:
            return
        view, a, b = found
        if not 0 <= offset < max(a.size, b.size, 1):
            self.notify(f"offset 0x{offset:x} is past the end", severity="warning")
            return
        self.query_one(ContentSwitcher).current = "hex"
        view.show_offset(offset)
        if view.row_folded(offset // 16):
            self.notify(f"0x{offset:x} is in an identical stretch (folded)")

    def action_switch_view(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if self.sides is not None:
            switcher.current = "hex" if switcher.current == "fields-scroll" else "fields-scroll"

    @work(group="diff-choose", exclusive=True)
    async def action_choose(self) -> None:
        captures = self.store.list()
        if len(captures) < 2:
            self.notify("fewer than two captures so far")
            return
        choices = [(c.id, c.label) for c in reversed(captures)]
        first = await self.app.push_screen_wait(PickerScreen("Capture A (left)", choices))
        if first is None:
            return
        second = await self.app.push_screen_wait(PickerScreen("Capture B (right)", choices))
        if second is None:
            return
        by_id = {c.id: c for c in captures}
        self.pair = (by_id[first], by_id[second])
        await self._load(*self.pair)

    def action_export(self) -> None:
        if self.sides is None or self.result is None or self.pair is None:
            self.notify("nothing compared yet")
            return
        a, b = self.pair
        path = Path(self.store.directory) / f"diff-{a.id}-vs-{b.id}.txt"
        export_text(path, self.result, *self.sides, self.digests)
        self.notify(f"diff written to {printable(str(path))}", markup=False)


def _where(capture: Capture) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(capture.taken_at))
    states = ", ".join(f"{side} {state}" for side, state in capture.states.items())
    return f"{capture.host} {capture.device} at {when} (+{capture.clock:.2f} s); states: {states}"


def _sizes(a: DiffSide, b: DiffSide) -> str:
    return f"{a.size} and {b.size} bytes"
