"""How fast the simulator moves: a person watching a demo, or a test that wants it instant."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    """Durations of what takes time on a real host, in seconds.

    `arc` is one driver arc, taken with the state mutex held (a `state` read
    blocks meanwhile); `phase` is one stretch of a migration (RAM pre-copy,
    the data transfer, the VM start on the destination).
    """

    arc: float = 0.25
    phase: float = 1.6

    @classmethod
    def demo(cls) -> Pace:
        """A default migration takes about 8 s: slow enough to watch, quick enough to repeat."""
        return cls()

    @classmethod
    def instant(cls) -> Pace:
        return cls(arc=0.0, phase=0.0)

    @classmethod
    def scaled(cls, factor: float) -> Pace:
        base = cls.demo()
        return cls(arc=base.arc * factor, phase=base.phase * factor)

    async def sleep_arc(self) -> None:
        await asyncio.sleep(self.arc)

    async def sleep_phase(self, phases: float = 1.0) -> None:
        await asyncio.sleep(self.phase * phases)
