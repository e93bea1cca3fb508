"""Headless watching: poll both hosts until the migration ends or a limit passes, then judge.

What `vfio-tui watch` runs. It reads only the pure-read files (as polling does
everywhere) and hands every result to the verdict, which never sees anything of
the simulator: on sim:// the simulator's controls only start the migration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.verdict import DEFAULT_STUCK_AFTER, SIDES, Facts, Record, Verdict, judge
from vfio_tui.services.poller import DevicePoller
from vfio_tui.services.snapshot import SideResult
from vfio_tui.transport.base import DeviceChoiceError, HostError, HostTransport, TransportOptions
from vfio_tui.transport.hosts import SimWorld, default_sim_device, open_transport

DEFAULT_INTERVAL = 0.2  # seconds between polls
DEFAULT_GIVE_UP_AFTER = 600.0  # seconds before watching ends without an end


class WatchUsageError(Exception):
    """The command line asked for something the hosts cannot do (a fault that does not apply)."""


@dataclass
class WatchResult:
    verdict: Verdict
    sides: list[SideResult]
    timed_out: bool  # the limit passed before the migration ended
    notes: list[str] = field(default_factory=list)  # e.g. the simulator's "migrating ..."
    facts: Facts = field(default_factory=Facts)  # what the verdict was judged from


@dataclass
class _Watched:
    name: str
    url: HostUrl
    transport: HostTransport
    poller: DevicePoller | None = None
    last: SideResult | None = None


async def watch(
    urls: list[HostUrl],
    options: TransportOptions,
    *,
    interval: float = DEFAULT_INTERVAL,
    stuck_after: float = DEFAULT_STUCK_AFTER,
    give_up_after: float = DEFAULT_GIVE_UP_AFTER,
    scenario: str | None = None,
    world: SimWorld | None = None,
    clock: Callable[[], float] = time.monotonic,
    after_first_reading: Callable[[], Awaitable[object]] | None = None,
) -> WatchResult:
    """Poll both hosts until the verdict says succeeded, failed or stuck, or the limit passes.

    `scenario` (simulated hosts only) starts the simulated migration after the first
    reading, through the capability the simulated source offers; `after_first_reading`
    is awaited at the same point (a wrapper can start the migration it watches there).
    """
    world = world or SimWorld.scaled(0.1)
    started = clock()
    record = Record()
    sides = [
        _Watched(name, url, open_transport(url, options, world))
        for name, url in zip(SIDES, urls, strict=True)
    ]
    notes: list[str] = []
    try:
        await asyncio.gather(*(_poll(side, record, clock() - started) for side in sides))
        if scenario is not None:
            notes.append(await _start(sides, scenario))
        if after_first_reading is not None:
            await after_first_reading()
        while True:
            now = clock() - started
            facts = record.facts(now)
            verdict = judge(facts, stuck_after)
            if verdict.ended:
                return WatchResult(verdict, _results(sides), False, notes, facts)
            if now >= give_up_after:
                return WatchResult(verdict, _results(sides), True, notes, facts)
            await asyncio.sleep(interval)
            await asyncio.gather(*(_poll(side, record, clock() - started) for side in sides))
    finally:
        await asyncio.gather(*(side.transport.close() for side in sides))
        await world.stop()


async def _start(sides: list[_Watched], scenario: str) -> str:
    controls = sides[0].transport.simulator()
    if controls is None:
        raise WatchUsageError("--scenario applies to the simulated hosts (sim://) only")
    device = sides[0].poller.device if sides[0].poller else sides[0].url.device
    start = await controls.migrate(device or default_sim_device(), scenario)
    if not start.started:
        raise WatchUsageError(start.message)
    return start.message


async def _poll(side: _Watched, record: Record, at: float) -> None:
    """One reading of a side (attaching first if needed); every outcome goes on record."""
    try:
        if side.poller is None:
            await side.transport.connect()
            try:
                device, files = await side.transport.resolve_device(side.url.device)
            except DeviceChoiceError as exc:
                raise WatchUsageError(exc.message) from None  # the URL must name a device
            side.poller = DevicePoller(side.transport, device, files)
        snap = await side.poller.poll()
    except HostError as exc:
        record.unreachable(side.name, at, exc.as_read_error())
        side.last = SideResult(side.url, error=exc)
        return
    record.read(side.name, at, snap.files)
    side.last = SideResult(side.url, snapshot=snap)


def _results(sides: list[_Watched]) -> list[SideResult]:
    out = []
    for side in sides:
        if side.last is None:
            raise AssertionError("every side is read before a verdict")
        out.append(side.last)
    return out
