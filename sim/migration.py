"""A live migration of one device, driven the way QEMU drives it.

Source: RUNNING -> PRE_COPY (if supported, while RAM is copied) -> the VM stops
(PRE_COPY_P2P or RUNNING_P2P with P2P) -> STOP_COPY (the data is read out) ->
STOP when the save is cleaned up. Destination: opened (RUNNING) -> RESUMING
(the data is written in) -> the VM starts: RUNNING_P2P (with P2P) -> RUNNING.
A failed migration takes the source back to RUNNING and the destination QEMU
exits (its device is closed where it stopped). See hw/vfio/migration.c in QEMU.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass

from sim.device import DataStream, SimDevice
from sim.pace import Pace
from sim.scenarios import SCENARIOS, Fault, Scenario
from vfio_tui.model.states import MigrationFlags, MigrationState

S = MigrationState


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HUNG = "hung"


@dataclass(frozen=True)
class MigrationEvent:
    """One line of narration: what QEMU (or the simulator) did, and when."""

    at: float  # seconds since the migration started
    actor: str  # "source", "destination" or "simulator"
    text: str


class MigrationFailed(Exception):
    pass


class Migration:
    """One migration of `source` to `destination` under a scenario."""

    def __init__(
        self,
        source: SimDevice,
        destination: SimDevice,
        *,
        scenario: Scenario = SCENARIOS["clean"],
        pace: Pace | None = None,
        narrate: Callable[[MigrationEvent], None] | None = None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.scenario = scenario
        self.pace = pace or source.pace
        self.narrate = narrate
        self.events: list[MigrationEvent] = []
        self.transferred = 0
        # What the source's data fd gave and what the destination's was given: they
        # differ when the stream was damaged on the way although every state moved on.
        self.sent = bytearray()
        self.delivered = bytearray()
        self.outcome: Outcome | None = None
        self.reason = ""
        # Each state change QEMU made, in order, per side: what a real QEMU
        # reports as VFIO_MIGRATION events (the lab's golden records hold them).
        self.requests: dict[str, list[MigrationState]] = {"source": [], "destination": []}
        # Whether each QEMU exited by itself (a failed incoming migration ends
        # the destination QEMU; a source QEMU stays, running or paused).
        self.source_exited = False
        self.destination_exited = False
        self._interrupt: str | None = None
        self._t0 = 0.0

    def _say(self, actor: str, text: str) -> None:
        event = MigrationEvent(asyncio.get_running_loop().time() - self._t0, actor, text)
        self.events.append(event)
        if self.narrate is not None:
            self.narrate(event)

    async def run(self) -> Outcome:
        """Run to the end; returns how it ended (a hung migration never returns:
        cancel the task; `outcome` then says HUNG)."""
        self._t0 = asyncio.get_running_loop().time()
        src, dst = self.source, self.destination
        self.scenario.prepare(src, dst)
        self._say("simulator", f"scenario {self.scenario.name}: {self.scenario.summary}")
        try:
            await self._migrate(src, dst)
        except MigrationFailed as exc:
            self.reason = str(exc)
            await self._recover(src, dst)
            self.outcome = Outcome.FAILED
            self._say("simulator", f"migration failed: {self.reason}")
            return self.outcome
        except asyncio.CancelledError:
            self.outcome = Outcome.HUNG
            raise
        self.outcome = Outcome.SUCCEEDED
        self._say("simulator", f"migration succeeded: {self.transferred} bytes of device state")
        return self.outcome

    def cancel(self) -> None:
        """`migrate_cancel` on the source: the migration fails at its next step."""
        self._interrupt = "migration cancelled (migrate_cancel)"

    def kill_destination(self) -> None:
        """The destination QEMU is killed: its VF closes where it is; the source fails."""
        self._interrupt = "the destination QEMU went away (connection lost)"
        self.destination_exited = True
        self.destination.close()
        self._say("destination", f"QEMU killed; the VF stays in {self.destination.state.name}")

    async def _phase(self, phases: float) -> None:
        """One stretch of the migration; an interrupt (cancel, a lost peer) ends it."""
        await self.pace.sleep_phase(phases)
        if self._interrupt is not None:
            raise MigrationFailed(self._interrupt)

    async def _request(
        self, device: SimDevice, actor: str, target: MigrationState
    ) -> DataStream | None:
        before = device.state
        try:
            stream = await device.set_state(target)
        except OSError as exc:
            name = exc.strerror or "error"
            raise MigrationFailed(
                f"{actor} {before.name} -> {target.name} failed: {name} (now {device.state.name})"
            ) from None
        self._say(actor, f"{before.name} -> {target.name}")
        if target is not before:
            self.requests[actor].append(target)
        return stream

    async def _migrate(self, src: SimDevice, dst: SimDevice) -> None:
        pre_copy = MigrationFlags.PRE_COPY in src.flags
        p2p = MigrationFlags.P2P in src.flags
        if not src.opened:
            src.open()
            self._say("source", "QEMU starts the VM and opens the VF")
        await self._phase(0.3)
        dst.open()
        self._say("destination", "QEMU starts with -incoming and opens the VF")
        resume = await self._request(dst, "destination", S.RESUMING)
        assert resume is not None
        await self._phase(0.3)

        saving: DataStream | None = None
        if pre_copy:
            saving = await self._request(src, "source", S.PRE_COPY)
            assert saving is not None
            info = src.precopy_info()
            self._say("source", f"pre-copy: {info.initial_bytes} initial bytes, RAM being copied")
            await self._send(saving.read(), resume)
            await self._phase(2.0)
        # The VM stops.
        if p2p:
            await self._request(src, "source", S.PRE_COPY_P2P if pre_copy else S.RUNNING_P2P)
        if not pre_copy:
            await self._request(src, "source", S.STOP)
        stream = await self._request(src, "source", S.STOP_COPY)
        saving = stream or saving
        assert saving is not None
        self._say("source", "VM stopped; device state being read out")
        await self._phase(0.5)
        if self.scenario.fault is Fault.DEVICE_UNPLUG:
            src.unplug()
            self._say("simulator", f"VF {src.name} unbound from its driver on the source")
            raise MigrationFailed("the source VF vanished during STOP_COPY")
        if self.scenario.fault is Fault.PRECOPY_HANG:
            self._say("source", "migration restarted: PRE_COPY requested while in STOP_COPY")
            await src.set_state(S.PRE_COPY)  # never returns on an unpatched kernel
        if src.hung or src.hang_in is S.STOP_COPY:
            self._say("source", "reading the device state... (no answer)")
            await asyncio.Event().wait()  # QEMU blocks on the data fd for ever
        await self._send(self._read_all(saving), resume)
        await self._phase(0.5)
        await self._request(src, "source", S.STOP)
        # The destination VM starts.
        if p2p:
            await self._request(dst, "destination", S.RUNNING_P2P)
        await self._request(dst, "destination", S.RUNNING)
        src.close()
        self._say("source", "QEMU exits; the VF keeps its last state")

    def _read_all(self, stream: DataStream) -> bytes:
        try:
            return stream.read()
        except OSError as exc:
            raise MigrationFailed(f"reading the source data fd failed: {exc.strerror}") from None

    async def _send(self, data: bytes, resume: DataStream) -> None:
        self.sent += data
        if self.scenario.fault is Fault.CORRUPT_TRANSFER:
            data = corrupt(data, self.transferred)
        try:
            resume.write(data)
        except OSError as exc:
            raise MigrationFailed(
                f"destination write of {len(data)} bytes failed: {exc.strerror}"
            ) from None
        self.delivered += data
        self.transferred += len(data)
        await self._phase(0.5)

    async def _recover(self, src: SimDevice, dst: SimDevice) -> None:
        if src.present and not src.hung:
            try:
                before = src.state
                await src.set_state(S.RUNNING)
                if before is not S.RUNNING:
                    self.requests["source"].append(S.RUNNING)
                self._say("source", "back to RUNNING: the VM resumes on the source")
            except OSError as exc:
                self._say("source", f"could not return to RUNNING: {exc.strerror}")
        if dst.present and not self.destination_exited:
            dst.close()
            self.destination_exited = True
            self._say("destination", f"QEMU exits; the VF stays in {dst.state.name}")


def corrupt(data: bytes, offset: int) -> bytes:
    """Flip a few bits past the match header, as a bad link or buffer would."""
    out = bytearray(data)
    for absolute in (0x44, 0x61, 0x7B):
        index = absolute - offset
        if 0 <= index < len(out):
            out[index] ^= 0x5A
    return bytes(out)
