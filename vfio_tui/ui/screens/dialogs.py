"""Modal dialogs: the first-contact host key question, and picking from a list."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from vfio_tui.model.untrusted import printable
from vfio_tui.transport.hostkeys import HostKeyProblem, host_pattern


def _safe(text: str, *, keep_newlines: bool = False) -> Text:
    """Text to show as it is: control characters escaped, brackets never markup."""
    return Text(printable(text, keep_newlines=keep_newlines))


class HostKeyScreen(ModalScreen[str]):
    """Unknown or changed host key: accept once, accept always, or quit. Returns the answer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "answer('once')", "Accept once", id="hostkey-once"),
        Binding("a", "answer('always')", "Accept always", id="hostkey-always"),
        Binding("q,escape", "answer('quit')", "Quit", id="hostkey-quit"),
    ]

    def __init__(self, side: str, problem: HostKeyProblem) -> None:
        super().__init__()
        self.side = side
        self.problem = problem

    def compose(self) -> ComposeResult:
        problem = self.problem
        where = host_pattern(problem.host, problem.port)
        title = "HOST KEY CHANGED" if problem.changed else "Unknown host key"
        with Vertical(id="dialog", classes="-danger" if problem.changed else ""):
            # Host names and paths are the user's or the host's text: escaped, never markup.
            yield Static(_safe(f"{title}: {self.side} {where}"), classes="title")
            yield Static(_safe(f"Fingerprint: {problem.fingerprint}"))
            yield Static(_safe(problem.describe(), keep_newlines=True))
            yield Static(_safe(f"known_hosts: {problem.known_hosts}"))
            with Horizontal(classes="buttons"):
                yield Button("Accept once (o)", id="once")
                yield Button("Accept always (a)", id="always", variant="warning")
                yield Button("Quit (q)", id="quit", variant="error")

    def on_mount(self) -> None:
        for button in self.query("#quit").results(Button):
            button.focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id))

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


class PickerScreen(ModalScreen[str | None]):
    """Pick one of several choices (a device, a fault). Returns the choice or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker-cancel")
    ]

    def __init__(self, title: str, choices: list[tuple[str, str]], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(_safe(self.title_text), classes="title")
            if self.note:
                yield Static(_safe(self.note, keep_newlines=True))
            yield OptionList(*[Option(_safe(label), id=value) for value, label in self.choices])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
