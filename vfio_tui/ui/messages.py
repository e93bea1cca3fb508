"""Messages from the workers to the screen: small, immutable, one way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from vfio_tui.transport.base import HostStatus, SimNote

if TYPE_CHECKING:
    from vfio_tui.services.session import ActionOutcome, PollOutcome


class Polled(Message):
    def __init__(self, side: str, outcome: PollOutcome) -> None:
        super().__init__()
        self.side = side
        self.outcome = outcome


class Attached(Message):
    def __init__(self, side: str) -> None:
        super().__init__()
        self.side = side


class LinkChanged(Message):
    def __init__(self, side: str, status: HostStatus) -> None:
        super().__init__()
        self.side = side
        self.status = status


class ActionDone(Message):
    def __init__(self, outcome: ActionOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class Narration(Message):
    """A line of the simulator's narration (for the log only, never for a verdict)."""

    def __init__(self, note: SimNote) -> None:
        super().__init__()
        self.note = note


class LogLine(Message):
    def __init__(self, text: str, side: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.side = side
