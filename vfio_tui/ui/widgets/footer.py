"""The footer: only whole keys, the most important first, and where to find the rest.

Textual's footer lets the last key run off the right edge (`d Di` at 80
columns). This one hides the keys that do not fit whole and ends with a note
that `?` lists every key and `^p` runs every action.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

MORE = "… more: ? ^p"


class FittingFooter(Footer):
    DEFAULT_CSS = """
    FittingFooter FooterLabel.-more { dock: right; padding: 0 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        yield from super().compose()
        more = FooterLabel(MORE, classes="-more")
        more.display = False
        yield more
        self.call_after_refresh(self._fit)

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        keys = list(self.query(FooterKey))
        if not keys or not self.is_attached:
            return
        for key in keys:
            key.display = True
        widths = [key.outer_size.width + key.styles.margin.right for key in keys]
        if sum(widths) <= self.size.width:
            shown = len(keys)
        else:
            room, shown = self.size.width - len(MORE) - 1, 0
            while shown < len(keys) and widths[shown] <= room:
                room -= widths[shown]
                shown += 1
        for index, key in enumerate(keys):
            key.display = index < shown
        for label in self.query("FooterLabel.-more"):
            label.display = shown < len(keys)
