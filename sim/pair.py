"""The built-in pair of simulated hosts that every entry point uses.

Each host has a hisi_acc VF with the mainline 6.13 files, a hisi_acc VF with
the 2023 series' files, an mtty device, and a vfio device without migration.
(A real host runs one kernel, so it shows one hisi_acc layout or the other;
the simulator carries both so that every screen can be tried.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.device import SimDevice
from sim.hisi_acc import HisiAccDevice, HisiLayout
from sim.host import SimHost
from sim.migration import Migration, MigrationEvent, Outcome
from sim.mtty import MttyDevice
from sim.names import (
    DEFAULT_DEVICE,
    HISI_2023_DEVICE,
    HISI_MAINLINE_DEVICE,
    MTTY_DEVICE,
    NON_MIGRATABLE_DEVICE,
)
from sim.pace import Pace
from sim.scenarios import SCENARIOS, Scenario

__all__ = [
    "DEFAULT_DEVICE",
    "HISI_2023_DEVICE",
    "HISI_MAINLINE_DEVICE",
    "MTTY_DEVICE",
    "NON_MIGRATABLE_DEVICE",
    "SimPair",
    "default_pair",
]


def _host(name: str, pace: Pace) -> SimHost:
    devices: list[SimDevice] = [
        HisiAccDevice(HISI_MAINLINE_DEVICE, HisiLayout.MAINLINE, pace=pace),
        HisiAccDevice(HISI_2023_DEVICE, HisiLayout.V2023, pace=pace, qp_num=8, qp_base=0x80),
        MttyDevice(MTTY_DEVICE, pace=pace),
    ]
    return SimHost(name, devices, other_vfio_devices=[NON_MIGRATABLE_DEVICE])


@dataclass
class SimPair:
    """The source and destination hosts, and the migrations run between them."""

    pace: Pace
    src: SimHost
    dst: SimHost
    running: dict[str, asyncio.Task[Outcome]] = field(default_factory=dict)

    def host(self, name: str) -> SimHost:
        return {"src": self.src, "dst": self.dst}[name]

    def start_migration(
        self,
        device: str,
        scenario: Scenario = SCENARIOS["clean"],
        narrate: Callable[[MigrationEvent], None] | None = None,
    ) -> Migration:
        """Start migrating `device` from src to dst in the background.

        Refused (RuntimeError) while one is already running for that device.
        """
        task = self.running.get(device)
        if task is not None and not task.done():
            raise RuntimeError(f"a migration of {device} is already running")
        source, destination = self.src.device(device), self.dst.device(device)
        migration = Migration(
            source, destination, scenario=scenario, pace=self.pace, narrate=narrate
        )
        self.running[device] = asyncio.create_task(migration.run(), name=f"migrate {device}")
        return migration

    async def stop(self) -> None:
        """Cancel running migrations and release hung drivers (the simulator's power switch)."""
        for task in self.running.values():
            task.cancel()
        # Outcomes (and any failure) stay on each Migration; here we only wait.
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        for host in (self.src, self.dst):
            for dev in host.devices.values():
                dev.release_hang()


def default_pair(pace: Pace | None = None) -> SimPair:
    """The pair as it is before any migration: the source VM runs, the destination is idle."""
    pace = pace or Pace.demo()
    pair = SimPair(pace, _host("src", pace), _host("dst", pace))
    for device in pair.src.devices.values():
        device.open()  # the source VM is running with its VFs
    return pair
