"""The built-in simulated hosts, read in process (no SSH, no root), and their controls.

The controls (start a migration with a fault, narrate it) are the simulator's
capability: the session and the UI reach them only through
HostTransport.simulator(), so nothing outside this module and hosts.py imports
`sim`, and nothing that judges a migration can see the simulator's own story.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.host import SimHost
from sim.migration import MigrationEvent
from sim.scenarios import SCENARIOS
from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import (
    FaultInfo,
    HostTransport,
    LinkState,
    SimNote,
    SimStart,
    SimulatorControls,
    TransportOptions,
    listing_error,
    read_result,
)

if TYPE_CHECKING:
    from vfio_tui.transport.hosts import SimWorld


def fault_list() -> list[FaultInfo]:
    """Every fault the simulator knows, `clean` first."""
    return [FaultInfo(name, s.summary) for name, s in SCENARIOS.items()]


class SimControls:
    """SimulatorControls over the shared simulated pair (sim-src to sim-dst)."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def faults(self) -> list[FaultInfo]:
        return fault_list()

    async def migrate(
        self, device: str, fault: str, narrate: Callable[[SimNote], None] | None = None
    ) -> SimStart:
        scenario = SCENARIOS.get(fault)
        if scenario is None:
            return SimStart(
                False, f"unknown fault {fault!r}; choose one of: {', '.join(SCENARIOS)}"
            )
        pair = self.world.pair
        task = pair.running.get(device)
        if task is not None and not task.done():
            return SimStart(False, f"a migration of {device} is already running")
        try:
            source = pair.src.device(device)
        except KeyError:
            return SimStart(False, f"the simulated hosts have no device {device}")
        note = ""
        if source.hung or not source.present or pair.dst.device(device).hung:
            await self.world.reset()
            note = "simulator reset (a device was hung or unplugged); "
        source = self.world.pair.src.device(device)
        if not scenario.applies_to(source):
            return SimStart(
                False, f"scenario {scenario.name} does not apply to a {source.driver} device"
            )

        def tell(event: MigrationEvent) -> None:
            if narrate is not None:
                narrate(SimNote(event.at, event.actor, event.text))

        self.world.pair.start_migration(device, scenario, tell)
        return SimStart(
            True, f"{note}migrating {device} from sim-src to sim-dst: scenario {scenario.name}"
        )

    async def wait_until_done(self, device: str, seconds: float) -> bool:
        task = self.world.pair.running.get(device)
        if task is None:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.shield(asyncio.wait([task]))
        return task.done()


class SimTransport(HostTransport):
    """Reads a simulated host; `host` is looked up each time, so a reset pair is followed."""

    def __init__(
        self,
        url: HostUrl,
        options: TransportOptions,
        host: Callable[[], SimHost],
        controls: SimulatorControls | None = None,
    ) -> None:
        super().__init__(url, options)
        self._host = host
        self._controls = controls

    @property
    def host(self) -> SimHost:
        return self._host()

    def simulator(self) -> SimulatorControls | None:
        return self._controls

    async def connect(self) -> None:
        self._set_connected()

    async def close(self) -> None:
        self._set_status(LinkState.CLOSED)

    async def list_devices(self) -> dict[str, list[str]]:
        try:
            return self.host.migratable()
        except OSError as exc:
            raise listing_error(self.url.device_root, exc) from None

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        timeout = self.options.read_timeout
        results = {
            path: await read_result(
                path, self.host.read(f"vfio/{device}/migration/{path}"), timeout
            )
            for path in paths
        }
        self._mark_good_read()
        return results
