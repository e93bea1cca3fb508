"""The diff of the two sides' saved migration data (filled in by the diff work)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from vfio_tui.model.diff import diff_buffers
from vfio_tui.services.captures import CaptureStore


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="diff-back")
    ]

    def __init__(self, captures: CaptureStore) -> None:
        super().__init__()
        self.captures = captures

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._verdict(), id="verdict")
        yield Footer(compact=True)

    def _verdict(self) -> str:
        latest: dict[str, object] = {}
        for capture in self.captures.list():
            latest[capture.side] = capture
        if len(latest) < 2:
            return "no captures of both sides yet: press s on each side (or S), or migrate"
        a, b = latest["source"], latest["destination"]
        result = diff_buffers(a.data(), b.data())  # type: ignore[attr-defined]
        return f"{result.verdict()}: {a.label} vs {b.label}"  # type: ignore[attr-defined]
