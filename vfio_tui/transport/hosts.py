"""Open the transport a host URL names. The built-in simulated pair is shared by both hosts.

With transport/sim.py, the only place outside `vfio-sim` that loads the simulator
(lazily, on first use): the rest of the app reaches it through the capability a
simulated host offers (HostTransport.simulator()) or the sim-free lists below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vfio_tui.model.hosturl import HostUrl, Scheme
from vfio_tui.transport.base import FaultInfo, HostTransport, SimulatorControls, TransportOptions

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

    @classmethod
    def scaled(cls, factor: float) -> SimWorld:
        """A pair that moves `factor` times the demo's pace (0: instantly)."""
        from sim.pace import Pace

        return cls(Pace.instant() if factor <= 0 else Pace.scaled(factor))

    @property
    def controls(self) -> SimulatorControls:
        from vfio_tui.transport.sim import SimControls

        return SimControls(self)

    async def stop(self) -> None:
        if self._pair is not None:
            await self._pair.stop()

    async def reset(self) -> None:
        """Power-cycle the simulated hosts: a fresh pair (after a hang, say)."""
        from sim.pair import default_pair

        await self.stop()
        self._pair = default_pair(self.pace)


def simulated_faults() -> list[FaultInfo]:
    """The faults a simulated migration can be given (for --scenario, before any host)."""
    from vfio_tui.transport.sim import fault_list

    return fault_list()


def default_sim_device() -> str:
    """The device the simulated pair migrates when none is named."""
    from sim.names import DEFAULT_DEVICE

    return DEFAULT_DEVICE


def open_transport(url: HostUrl, options: TransportOptions, world: SimWorld) -> HostTransport:
    if url.scheme is Scheme.SIM:
        from vfio_tui.transport.sim import SimTransport

        return SimTransport(url, options, lambda: world.pair.host(url.host), world.controls)
    if url.scheme is Scheme.LOCAL:
        from vfio_tui.transport.local import LocalTransport

        return LocalTransport(url, options)
    from vfio_tui.transport.ssh import SshTransport  # asyncssh loads only when needed

    return SshTransport(url, options)
