"""The one-shot snapshot: read both hosts once, as a person or a script wants them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.layout import FileKind, poll_files
from vfio_tui.model.snapshot import DeviceSnapshot
from vfio_tui.model.verdict import SIDES, Record, Verdict, judge
from vfio_tui.transport.base import HostError, HostTransport, TransportOptions
from vfio_tui.transport.hosts import SimWorld, default_sim_device, open_transport


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
    urls: list[HostUrl], options: TransportOptions, scenario: str | None = None
) -> list[SideResult]:
    """Both hosts read once, concurrently (after the simulated migration, if one is named)."""
    world = SimWorld.scaled(0)
    transports = [open_transport(url, options, world) for url in urls]
    controls = transports[0].simulator()
    if scenario is not None and controls is not None:
        # Run the simulated migration to its end first (or until it hangs).
        device = urls[0].device or default_sim_device()
        await controls.migrate(device, scenario)
        await controls.wait_until_done(device, 2.0)
    sides = await asyncio.gather(*(read_side(t, u) for t, u in zip(transports, urls, strict=True)))
    await world.stop()
    return list(sides)


def verdict_of(sides: list[SideResult]) -> Verdict:
    """The verdict that one reading of both sides supports (everything at time 0)."""
    record = Record()
    for name, side in zip(SIDES, sides, strict=True):
        if side.snapshot is not None:
            record.read(name, 0.0, side.snapshot.files)
        elif side.error is not None:
            record.unreachable(name, 0.0, side.error.as_read_error())
    return judge(record.facts(0.0))
