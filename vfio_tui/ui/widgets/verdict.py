"""The verdict line of the live view, and the timeline entries a verdict adds.

The line is always one row: a symbol, the outcome in words and the summary, so
it reads the same without colour; the colour (a CSS class per outcome) only
helps. Everything shown comes from `model.verdict.Verdict`; nothing is worked
out here a second time. Verdict text can quote a host (an errno's words, a
state label), so it is escaped with `printable` and built as `Text`, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from vfio_tui.model.untrusted import printable
from vfio_tui.model.verdict import Cause, InferredState, Outcome, Phases, Verdict, Where

# The outcome's symbol; the word is always written beside it.
OUTCOME_LOOK: dict[Outcome, tuple[str, str]] = {
    Outcome.NOT_STARTED: ("·", "-not-started"),
    Outcome.IN_PROGRESS: ("»", "-in-progress"),
    Outcome.SUCCEEDED: ("✓", "-succeeded"),
    Outcome.FAILED: ("✗", "-failed"),
    Outcome.STUCK: ("⧖", "-stuck"),
    Outcome.UNKNOWN: ("?", "-unknown"),
}
IN_PROGRESS = Outcome.IN_PROGRESS  # the only outcome whose words change with the clock alone
WARNING_CLASS = "-warning"  # succeeded, with a cause (a warning such as guest-driver-not-loaded)

# Causes whose signature is a transition the driver refused (the side stays, or goes back).
REFUSED = frozenset({Cause.MATCH_MISMATCH, Cause.MAILBOX_NOT_READY})

SHORT_SIDE = {"source": "src", "destination": "dst"}


def arrows(text: str) -> str:
    return text.replace(" -> ", " → ")


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def where_words(where: Where, short: bool = False) -> str:
    """Side, transition or file, escaped (a file or a state label comes from a host)."""
    side = where.side and (SHORT_SIDE.get(where.side, where.side) if short else where.side)
    parts = [p for p in (side or "both sides", where.transition, where.file) if p]
    return printable(arrows(" ".join(parts)))


def phase_spans(phases: Phases) -> list[tuple[str, float, tuple[str, ...]]]:
    """(phase, seconds, its inferred boundaries) for each phase the verdict measured."""
    inferred = {b.name for b in phases.boundaries if b.inferred}
    spans = (
        ("pre-copy", phases.pre_copy, ("start", "vm-stop")),
        ("stop-copy", phases.stop_copy, ("vm-stop", "source-stopped")),
        ("resume", phases.resume, ("source-stopped", "destination-running")),
        ("total", phases.total, ("start", "destination-running")),
    )
    return [
        (name, value, tuple(b for b in ends if b in inferred))
        for name, value, ends in spans
        if value is not None
    ]


def phases_words(phases: Phases) -> str:
    """The phases in one phrase: `total 2.31 s (pre-copy 1.00 s, stop-copy 0.30 s inferred, …)`."""
    spans = {name: (value, inferred) for name, value, inferred in phase_spans(phases)}

    def one(name: str) -> str:
        value, inferred = spans[name]
        return f"{name} {seconds(value)}" + (" inferred" if inferred else "")

    parts = [one(name) for name in ("pre-copy", "stop-copy", "resume") if name in spans]
    if "total" in spans:
        return one("total") + (f" ({', '.join(parts)})" if parts else "")
    if phases.current is not None and phases.current_for is not None:
        parts.append(f"now {phases.current} for {seconds(phases.current_for)}")
    return ", ".join(parts)


def headline(verdict: Verdict) -> Text:
    """The verdict line: `✗ FAILED match-mismatch · destination RESUMING → STOP · summary`."""
    symbol, _css = OUTCOME_LOOK[verdict.outcome]
    text = Text(f"{symbol} {verdict.outcome.value.upper()}", style="bold")
    if verdict.cause is not None:
        label = "warning" if verdict.outcome is Outcome.SUCCEEDED else "cause"
        text.append(f" {label}: {verdict.cause.value}", style="bold")
    if verdict.outcome is Outcome.SUCCEEDED:
        phases = phases_words(verdict.phases)
        if phases:
            text.append(f" · {phases}")
    elif verdict.where.side or verdict.where.transition or verdict.where.file:
        text.append(f" · {where_words(verdict.where)}")
    text.append(" · ")
    text.append(printable(verdict.summary))
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class VerdictLine(Static):
    """One row between the panes and the timeline: what the verdict says now."""

    DEFAULT_CSS = """
    VerdictLine {
        height: 1;
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $panel;
    }
    VerdictLine.-succeeded { color: $success; }
    VerdictLine.-warning { color: $warning; }
    VerdictLine.-failed { color: $error; }
    VerdictLine.-stuck { color: $error; }
    VerdictLine.-unknown { color: $warning; }
    VerdictLine.-in-progress { color: $text; }
    VerdictLine.-not-started { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("· NOT-STARTED · waiting for both hosts"), id=id)
        self.verdict: Verdict | None = None

    def show(self, verdict: Verdict) -> None:
        self.verdict = verdict
        for _symbol, css in OUTCOME_LOOK.values():
            self.set_class(css == OUTCOME_LOOK[verdict.outcome][1], css)
        self.set_class(
            verdict.outcome is Outcome.SUCCEEDED and verdict.cause is not None, WARNING_CLASS
        )
        self.update(headline(verdict))


def _stamp(at: float) -> str:
    return f"{at:8.2f}s"


def inferred_entry(state: InferredState) -> Text:
    """`    1.95s src STOP_COPY (inferred: not seen, implied by PRE_COPY → STOP)`."""
    who = "src" if state.side == "source" else "      dst"  # as the timeline's own entries
    before, after = state.between
    implied = f", implied by {before} → {after}" if before and after else ""
    return Text(
        printable(f"{_stamp(state.at)} {who} {state.state} (inferred: not seen{implied})"),
        style="italic",
    )


def ended_entry(verdict: Verdict) -> Text | None:
    """The timeline entry for a verdict that ended the migration, or None while it goes on.

    `✗ dst RESUMING → STOP refused: match-mismatch`, `⧖ src STOP_COPY stuck: hung-save`,
    `✓ succeeded, total 2.31 s`.
    """
    if not verdict.ended:
        return None
    symbol, _css = OUTCOME_LOOK[verdict.outcome]
    at = _stamp(verdict.where.at) if verdict.where.at is not None else " " * 9
    cause = verdict.cause.value if verdict.cause is not None else ""
    if verdict.outcome is Outcome.SUCCEEDED:
        total = verdict.phases.total
        words = "succeeded" + (f", total {seconds(total)}" if total is not None else "")
        if cause:
            words += f" (warning: {cause})"
        return Text(f"{at} {symbol} {words}", style="bold")
    where = where_words(verdict.where, short=True)
    if verdict.outcome is Outcome.FAILED and verdict.cause in REFUSED and verdict.where.transition:
        words = f"{where} refused: {cause}"
    else:
        words = f"{verdict.outcome.value} at {where}" + (f": {cause}" if cause else "")
    return Text(f"{at} {symbol} {words}", style="bold")


class TimelineNotes:
    """Which of a verdict's entries the timeline already shows, so each is written once."""

    def __init__(self) -> None:
        self._written: set[tuple[object, ...]] = set()

    def inferred(self, verdict: Verdict) -> list[Text]:
        """Entries for inferred states not shown yet (written before the reading that implies
        them, so the timeline reads in order)."""
        out: list[Text] = []
        for state in verdict.phases.inferred:
            key: tuple[object, ...] = ("inferred", state.side, state.state, state.at)
            if key not in self._written:
                self._written.add(key)
                out.append(inferred_entry(state))
        return out

    def ended(self, verdict: Verdict) -> list[Text]:
        """The entry for an end the timeline does not show yet."""
        entry = ended_entry(verdict)
        where = verdict.where
        key = ("ended", verdict.outcome, verdict.cause, where.side, where.transition, where.file)
        if entry is None or key in self._written:
            return []
        self._written.add(key)
        return [entry]
