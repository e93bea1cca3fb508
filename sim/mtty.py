"""The kernel's software migration sample, mtty (samples/vfio-mdev/mtty.c).

A virtual serial card with 1 or 2 ports; migration with STOP_COPY, P2P and
PRE_COPY (and dirty-tracking stubs). Its data is a 24-byte header then 36 bytes
per port. mtty_resume_write() checks the header in the write that crosses byte
24 and fails it with EFAULT, but the bytes already count as written, so the
RESUMING -> STOP load (which checks only the length) still succeeds.
The harness under harness/ holds this against a real 6.12 kernel.
"""

from __future__ import annotations

import errno

from sim.device import DataStream, SimDevice, os_error
from vfio_tui.model.accdata import MTTY_HEADER_SIZE, MTTY_PORT_SIZE, MttyHeader, decode_mtty_header
from vfio_tui.model.states import MigrationFlags, MigrationState

MTTY_FLAGS = MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY


def fresh_port() -> bytes:
    """struct serial_port as mtty_init_dev() leaves it: zero but max_fifo_size = 16."""
    port = bytearray(MTTY_PORT_SIZE)
    port[33] = 16
    return bytes(port)


class MttyResumeStream(DataStream):
    """The resume fd: the header is checked once the write crosses byte 24."""

    def __init__(self, nr_ports: int) -> None:
        super().__init__(False, capacity=MttyHeader(nr_ports=nr_ports).data_size)
        self.nr_ports = nr_ports

    def write(self, data: bytes) -> int:
        before = self.pos
        written = super().write(data)
        if before < MTTY_HEADER_SIZE <= self.pos:
            header = decode_mtty_header(bytes(self.buffer[:MTTY_HEADER_SIZE]))
            if header.problems(self.nr_ports):
                raise os_error(errno.EFAULT)
        return written


class MttyDevice(SimDevice):
    driver = "mtty"

    def __init__(self, name: str, nr_ports: int = 2, **kwargs: object) -> None:
        kwargs.setdefault("dirty_tracking", True)  # mtty has (stub) log_ops
        super().__init__(name, MTTY_FLAGS, **kwargs)  # type: ignore[arg-type]
        self.set_ports(nr_ports)

    def set_ports(self, nr_ports: int) -> None:
        """Recreate the mdev as a 1- or 2-port type (mtty-1 / mtty-2)."""
        self.nr_ports = nr_ports
        self.ports = fresh_port() * nr_ports

    @property
    def data_size(self) -> int:
        return MttyHeader(nr_ports=self.nr_ports).data_size

    def image(self) -> bytes:
        return MttyHeader(nr_ports=self.nr_ports).encode() + self.ports

    def precopy_size(self) -> int:
        return MTTY_HEADER_SIZE

    def resume_capacity(self) -> int:
        return self.data_size

    async def _arc(self, current: MigrationState, step: MigrationState) -> DataStream | None:
        if (current, step) == (MigrationState.STOP, MigrationState.RESUMING):
            self.resuming = MttyResumeStream(self.nr_ports)
            return self.resuming
        return await super()._arc(current, step)

    def load(self, data: bytes) -> None:
        # mtty_load_state(): "magic and version already tested by resume write fn"
        if len(data) < self.data_size:
            raise os_error(errno.EINVAL)
        self.ports = data[MTTY_HEADER_SIZE : self.data_size]
