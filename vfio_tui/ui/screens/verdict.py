"""The full verdict: outcome, cause, where, summary, evidence, next steps and phases.

Opened from the live view (key `v`); it follows the verdict as new readings
arrive. Keyboard only: arrows / PgUp / PgDn scroll, Escape or q close. All text
is built as `Text` and escaped with `printable`: evidence quotes what hosts
showed (errno words, paths).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from vfio_tui.model.untrusted import printable
from vfio_tui.model.verdict import CAUSES, Outcome, Ref, Verdict
from vfio_tui.ui.widgets.footer import FittingFooter
from vfio_tui.ui.widgets.verdict import (
    OUTCOME_LOOK,
    arrows,
    phase_spans,
    seconds,
    where_words,
)


def ref_words(ref: Ref) -> str:
    """Where a fact came from, in words: the timeline, a file, an action or a QMP fact."""
    at = seconds(ref.at)
    if ref.kind == "reading" and ref.path == "state":
        return f"timeline: {ref.side} `state` read at {at}"
    if ref.kind == "reading":
        return f"file: {ref.side} {ref.path} read at {at}"
    if ref.kind == "action":
        return f"action: {ref.side} {ref.path} at {at}"
    return f"{ref.kind}: {ref.side} {ref.path} at {at}"


def _section(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")


def _item(text: Text, words: str, indent: str = "  ", style: str = "") -> None:
    text.append(f"{indent}{printable(words)}\n", style=style)


def verdict_body(verdict: Verdict) -> Text:
    """Everything the verdict says, for a person, in sections."""
    text = Text()
    symbol, _css = OUTCOME_LOOK[verdict.outcome]
    text.append(f"{symbol} {verdict.outcome.value.upper()}\n", style="bold")
    text.append("cause: ", style="bold")
    if verdict.cause is None:
        text.append("none\n")
    else:
        kind = " (a warning)" if verdict.outcome is Outcome.SUCCEEDED else ""
        text.append(f"{verdict.cause.value}{kind}\n")
        _item(text, f"signature: {CAUSES[verdict.cause].signature}", style="dim")
    where = verdict.where
    text.append("where: ", style="bold")
    if where.side or where.transition or where.file or where.at is not None:
        place = where_words(where)
        text.append(place + (f", at {seconds(where.at)}" if where.at is not None else "") + "\n")
    else:
        text.append("nowhere yet\n")
    text.append("summary: ", style="bold")
    text.append(printable(verdict.summary) + "\n")

    _section(text, "Evidence")
    if not verdict.evidence:
        _item(text, "none yet")
    for evidence in verdict.evidence:
        _item(text, f"- {evidence.text}")
        for ref in evidence.refs:
            _item(text, f"from {ref_words(ref)}", indent="      ", style="dim")

    _section(text, "Next steps")
    if not verdict.next_steps:
        _item(text, "nothing to do" if verdict.outcome is Outcome.SUCCEEDED else "none named")
    for step in verdict.next_steps:
        _item(text, f"- {step}")

    _section(text, "Phases")
    phases = verdict.phases
    spans = phase_spans(phases)
    if not spans and phases.current is None:
        _item(text, "none measured yet")
    for name, value, inferred in spans:
        note = ""
        if inferred:
            note = f"  (inferred: the {' and '.join(inferred)} boundary was not seen, but implied)"
        _item(text, f"{name:<10} {seconds(value)}{note}")
    if phases.current is not None and phases.current_for is not None:
        _item(text, f"now in {phases.current} for {seconds(phases.current_for)}")
    for side, sizes in phases.data_sizes.items():
        for path, size in sizes.items():
            _item(text, f"data: {side} {path} {size} bytes")
    for state in phases.inferred:
        _item(text, f"inferred state (not seen): {state.side} {state.state}: {arrows(state.why)}")
    return text


class VerdictScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="verdict-close"),
    ]
    DEFAULT_CSS = """
    VerdictScreen #verdict-title { height: 1; padding: 0 1; background: $panel;
                                   text-wrap: nowrap; text-overflow: ellipsis; }
    VerdictScreen #verdict-body { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    """

    def __init__(self, verdict: Verdict) -> None:
        super().__init__()
        self.verdict = verdict

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="verdict-title")
        with VerticalScroll(id="verdict-body"):
            yield Static(verdict_body(self.verdict), id="verdict-text")
        yield FittingFooter(compact=True, show_command_palette=False)  # ^p: an app binding

    def _title(self) -> Text:
        symbol, _css = OUTCOME_LOOK[self.verdict.outcome]
        return Text(
            f"Verdict: {symbol} {self.verdict.outcome.value.upper()} · Esc or q closes · "
            "arrows, PgUp, PgDn scroll",
            style="bold",
        )

    def on_mount(self) -> None:
        self.query_one("#verdict-body", VerticalScroll).focus()

    def show(self, verdict: Verdict) -> None:
        """The verdict moved on (a new reading): show the new one where the person is."""
        if verdict == self.verdict:
            return
        self.verdict = verdict
        self.query_one("#verdict-title", Static).update(self._title())
        self.query_one("#verdict-text", Static).update(verdict_body(verdict))
