"""Open the transport a host URL names. The built-in simulated pair is shared by both hosts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vfio_tui.model.hosturl import HostUrl, Scheme
from vfio_tui.transport.base import HostTransport, TransportOptions

if TYPE_CHECKING:  # the simulator loads on first use, after the first paint
    from sim.pace import Pace
    from sim.pair import SimPair


class SimWorld:
    """The simulated pair, made on first use and shared by sim://src and sim://dst."""

    def __init__(self, pace: Pace | None = None) -> None:
        self._pace = pace
        self._pair: SimPair | None = None

    @property
    def pace(self) -> Pace:
        if self._pace is None:
            from sim.pace import Pace

            self._pace = Pace.demo()
        return self._pace

    @property
    def pair(self) -> SimPair:
        if self._pair is None:
            from sim.pair import default_pair

            self._pair = default_pair(self.pace)
        return self._pair

    async def stop(self) -> None:
        if self._pair is not None:
            await self._pair.stop()

    async def reset(self) -> None:
        """Power-cycle the simulated hosts: a fresh pair (after a hang, say)."""
        from sim.pair import default_pair

        await self.stop()
        self._pair = default_pair(self.pace)


def open_transport(url: HostUrl, options: TransportOptions, world: SimWorld) -> HostTransport:
    if url.scheme is Scheme.SIM:
        from vfio_tui.transport.sim import SimTransport

        return SimTransport(url, options, lambda: world.pair.host(url.host))
    if url.scheme is Scheme.LOCAL:
        from vfio_tui.transport.local import LocalTransport

        return LocalTransport(url, options)
    from vfio_tui.transport.ssh import SshTransport  # asyncssh loads only when needed

    return SshTransport(url, options)
