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


# struct serial_port, 36 bytes copied raw into the migration data (padding included).
UART_REGS = 0  # uart_reg[8]
FIFO = 8  # rxtx.fifo[16]
HEAD, TAIL, COUNT = 24, 25, 26  # rxtx.head, .tail, .count
DLAB, OVERRUN = 27, 28  # bool
DIVISOR = 30  # u16, little-endian
FCR, MAX_FIFO_SIZE, INTR_TRIGGER_LEVEL = 32, 33, 34
FIFO_DEPTH = 16  # MAX_FIFO_SIZE

# 8250 register numbers (include/uapi/linux/serial_reg.h) that mtty acts on.
UART_TX, UART_IER, UART_FCR, UART_LCR, UART_MCR, UART_SCR = 0, 1, 2, 3, 4, 7
UART_LCR_DLAB = 0x80
UART_FCR_ENABLE_FIFO = 0x01
UART_FCR_CLEAR = 0x06  # UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT


def fresh_port() -> bytes:
    """struct serial_port as mtty_init_dev() leaves it: zero but max_fifo_size = 16."""
    port = bytearray(MTTY_PORT_SIZE)
    port[MAX_FIFO_SIZE] = FIFO_DEPTH
    return bytes(port)


def uart_write(port: bytearray, reg: int, value: int) -> None:
    """A guest's one-byte write to a UART register (mtty.c's handle_bar_write()).

    Only what reaches the saved port state is modelled; mtty's interrupts are not.
    """
    if reg == UART_TX:
        if port[DLAB]:  # with DLAB set, the byte is the divisor's LSB
            port[DIVISOR] |= value
        elif port[COUNT] < port[MAX_FIFO_SIZE]:  # into the loopback fifo
            port[FIFO + port[HEAD]] = value
            port[COUNT] += 1
            port[HEAD] = (port[HEAD] + 1) & (FIFO_DEPTH - 1)
            port[OVERRUN] = 0
        else:
            port[OVERRUN] = 1
    elif reg == UART_IER:
        if port[DLAB]:  # with DLAB set, the byte is the divisor's MSB
            port[DIVISOR + 1] |= value
        else:
            port[UART_REGS + reg] = value
    elif reg == UART_FCR:
        port[FCR] = value
        if value & UART_FCR_CLEAR:
            port[COUNT] = port[HEAD] = port[TAIL] = 0
        port[INTR_TRIGGER_LEVEL] = 1  # mtty always ends up at 1, whatever the trigger bits
        port[MAX_FIFO_SIZE] = FIFO_DEPTH if value & UART_FCR_ENABLE_FIFO else 1
    elif reg == UART_LCR:
        port[DLAB] = 1 if value & UART_LCR_DLAB else 0
        if value & UART_LCR_DLAB:
            port[DIVISOR] = port[DIVISOR + 1] = 0
        port[UART_REGS + reg] = value
    elif reg in (UART_MCR, UART_SCR):
        port[UART_REGS + reg] = value
    # LSR, MSR (and anything else): ignored


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

    def bar_write(self, bar: int, reg: int, value: int) -> int:
        """pwrite() of one byte to BAR `bar` (port `bar`) at register `reg`; returns 1."""
        if not 0 <= bar < self.nr_ports or not 0 <= reg < 8:
            raise os_error(errno.EINVAL)
        start = bar * MTTY_PORT_SIZE
        port = bytearray(self.ports[start : start + MTTY_PORT_SIZE])
        uart_write(port, reg, value & 0xFF)
        self.ports = self.ports[:start] + bytes(port) + self.ports[start + MTTY_PORT_SIZE :]
        return 1

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
