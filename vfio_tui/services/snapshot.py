"""The one-shot snapshot: read both hosts once, as a person or a script wants them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.layout import FileKind, poll_files
from vfio_tui.model.snapshot import DeviceSnapshot
from vfio_tui.transport.base import HostError, HostTransport, TransportOptions
from vfio_tui.transport.hosts import SimWorld, open_transport

if TYPE_CHECKING:
    from sim.scenarios import Scenario


@dataclass
class SideResult:
    url: HostUrl
    snapshot: DeviceSnapshot | None = None
    error: HostError | None = None

    def to_json(self) -> dict[str, object]:
        if self.snapshot is not None:
            return self.snapshot.to_json()
        assert self.error is not None
        return {
            "host": str(self.url.without_device),
            "device": self.url.device,
            "state": None,
            "error": self.error.as_read_error().to_json(),
        }

    @property
    def unread(self) -> str | None:
        """Why this side could not be read, or None. Host text: escape it to show it."""
        if self.error is not None:
            return self.error.message
        assert self.snapshot is not None
        state = self.snapshot.file(FileKind.STATE)
        if state is not None and state.error is not None:
            return f"state: {state.error}"
        if state is not None and state.data is not None and self.snapshot.state is None:
            if not state.data.strip():
                return "state: the file is empty, not a migration state"
            what = state.data.strip().decode("utf-8", "surrogateescape")
            if len(what) > 60:
                what = what[:60] + "…"
            return f'state: read "{what}", which is not a migration state'
        return None


async def read_side(transport: HostTransport, url: HostUrl) -> SideResult:
    try:
        await transport.connect()
        device, files = await transport.resolve_device(url.device)
        snap = await transport.snapshot(device, poll_files(files))
        return SideResult(url, snapshot=snap)
    except HostError as exc:
        return SideResult(url, error=exc)
    finally:
        await transport.close()


async def take_snapshots(
    urls: list[HostUrl], options: TransportOptions, scenario: Scenario | None = None
) -> list[SideResult]:
    """Both hosts read once, concurrently (after the simulated migration, if one is named)."""
    from sim.pace import Pace

    world = SimWorld(Pace.instant())
    if scenario is not None:
        from sim.names import DEFAULT_DEVICE

        # Run the simulated migration to its end first (or until it hangs).
        device = urls[0].device or DEFAULT_DEVICE
        world.pair.start_migration(device, scenario)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.shield(world.pair.running[device])
    transports = [open_transport(url, options, world) for url in urls]
    sides = await asyncio.gather(*(read_side(t, u) for t, u in zip(transports, urls, strict=True)))
    await world.stop()
    return list(sides)
