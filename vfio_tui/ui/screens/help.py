"""The help screen: every key (as currently mapped), what the marks mean, the faults."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from vfio_tui.model.states import MigrationState
from vfio_tui.ui.render import STATE_LOOK


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help-close")
    ]

    def __init__(
        self,
        keys: list[tuple[str, str, str, bool]],
        faults: list[tuple[str, str]] | None = None,
        diff_keys: list[tuple[str, str, str, bool]] | None = None,
    ) -> None:
        """keys: (keys as shown, description, binding id, touches a device), the main
        screen's, then the diff screen's; faults: (name, summary) of the simulator's
        faults, on simulated hosts only."""
        super().__init__()
        self.keys = [*keys, ("", "", "", False), *diff_keys] if diff_keys else keys
        self.faults = faults or []

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("key")
        table.add_column("does")
        table.add_column(Text("id (for [keymap])"), style="dim")
        for keys, description, binding_id, device in self.keys:
            mark = " ⚠ touches the device" if device else ""
            table.add_row(Text(keys), Text(f"{description}{mark}"), Text(binding_id))
        states = Table(box=None, show_header=False, pad_edge=False)
        for state in MigrationState:
            symbol, _css = STATE_LOOK[state]
            states.add_row(f"{symbol} {state.name}", state.meaning)
        faults = Table(box=None, show_header=False, pad_edge=False)
        for name, summary in self.faults:
            faults.add_row(name, summary)
        with Vertical(id="dialog"):
            yield Static("vfio-tui help (Esc to close)", classes="title")
            with VerticalScroll(id="help-body"):
                yield Static(table)
                yield Static(
                    Text(
                        "\nStates (the word is always shown; symbol and colour help)", style="bold"
                    )
                )
                yield Static(states)
                yield Static(
                    Text(
                        "\nMarks: ▌ match header bytes · ≠ differs · STALE pane: no good "
                        "read for a while · BLOCKED: the state read did not return (the "
                        "driver holds its mutex) · "
                        "⚠ keys act on the device and are refused in read-only mode.",
                        style="dim",
                    )
                )
                yield Static(
                    Text(
                        "\nVerdict line (under the panes; v opens the full verdict): "
                        "· NOT-STARTED  » IN-PROGRESS  ✓ SUCCEEDED  ✗ FAILED  ⧖ STUCK  ? UNKNOWN, "
                        "with the cause id and where; timeline entries marked `inferred` were "
                        "not seen but are implied by the states around them.",
                        style="dim",
                    )
                )
                if self.faults:
                    yield Static(Text("\nSimulated faults (f, then m)", style="bold"))
                    yield Static(faults)
