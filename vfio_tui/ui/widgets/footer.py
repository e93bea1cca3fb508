"""The footer: only whole keys, the most important first, and where to find the rest.

Textual's footer lets the last key run off the right edge (`d Di` at 80
columns). This one leaves out the keys that do not fit whole and ends with a
note that `?` lists every key and `^p` runs every action. What fits is worked
out while composing (from the compact key's text), so the first frame is right.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

MORE = "… more: ? ^p"


def _width(widget: Widget) -> int:
    """A compact footer key's cells: `k Keep` and the one-cell margin after it."""
    if not isinstance(widget, FooterKey):
        return 0
    text = (
        f"{widget.key_display} {widget.description}" if widget.description else widget.key_display
    )
    return cell_len(text) + 1


class FittingFooter(Footer):
    DEFAULT_CSS = """
    FittingFooter FooterLabel.-more { dock: right; padding: 0 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        width = self.app.size.width
        widths = [_width(widget) for widget in widgets]
        if sum(widths) <= width:
            yield from widgets
            return
        room = width - cell_len(MORE) - 1
        for widget, cells in zip(widgets, widths, strict=True):
            if cells > room:
                break  # the keys keep their order: none after the first that does not fit
            room -= cells
            yield widget
        yield FooterLabel(MORE, classes="-more")

    def on_resize(self, event: Resize) -> None:
        self.refresh(recompose=True)
