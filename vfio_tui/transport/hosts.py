"""Open the transport a host URL names. The built-in simulated pair is shared by both hosts."""

from __future__ import annotations

from sim.pace import Pace
from sim.pair import SimPair, default_pair
from vfio_tui.model.hosturl import HostUrl, Scheme
from vfio_tui.transport.base import HostTransport, TransportOptions
from vfio_tui.transport.local import LocalTransport
from vfio_tui.transport.sim import SimTransport


class SimWorld:
    """The simulated pair, made on first use and shared by sim://src and sim://dst."""

    def __init__(self, pace: Pace | None = None) -> None:
        self.pace = pace or Pace.demo()
        self._pair: SimPair | None = None

    @property
    def pair(self) -> SimPair:
        if self._pair is None:
            self._pair = default_pair(self.pace)
        return self._pair

    @property
    def started(self) -> bool:
        return self._pair is not None

    async def stop(self) -> None:
        if self._pair is not None:
            await self._pair.stop()

    async def reset(self) -> None:
        """Power-cycle the simulated hosts: a fresh pair (after a hang, say)."""
        await self.stop()
        self._pair = default_pair(self.pace)


def open_transport(url: HostUrl, options: TransportOptions, world: SimWorld) -> HostTransport:
    if url.scheme is Scheme.SIM:
        return SimTransport(url, options, lambda: world.pair.host(url.host))
    if url.scheme is Scheme.LOCAL:
        return LocalTransport(url, options)
    from vfio_tui.transport.ssh import SshTransport  # asyncssh loads only when needed

    return SshTransport(url, options)
