"""Every state change seen on either host, on one shared clock.

The clock starts when the session starts, so the order of events across the
two hosts can be read at a glance (source STOP_COPY at 12.40 s, destination
RESUMING at 12.41 s). Only changes are recorded: a state that stays the same
adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StateEvent:
    at: float  # seconds on the shared clock
    side: str  # "source" or "destination"
    state: str  # the label as read ("STOP_COPY", "Invalid", or "(unreadable)" etc.)
    previous: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "side": self.side, "state": self.state, "previous": self.previous}


@dataclass
class Timeline:
    events: list[StateEvent] = field(default_factory=list)
    _last: dict[str, str] = field(default_factory=dict)
    _readable: dict[str, str] = field(default_factory=dict)

    def observe(self, side: str, state: str, at: float) -> StateEvent | None:
        """Record `state` seen on `side` at `at`; returns the event if it is a change."""
        previous = self._last.get(side)
        if not state.startswith("("):
            self._readable[side] = state
        if previous == state:
            return None
        self._last[side] = state
        event = StateEvent(at, side, state, previous)
        self.events.append(event)
        return event

    def last(self, side: str) -> str | None:
        return self._last.get(side)

    def last_readable(self, side: str) -> str | None:
        """The last state actually read (not an unreadable marker such as "(timed-out)")."""
        return self._readable.get(side)
