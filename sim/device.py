"""A simulated VFIO device: the core's state machine, a driver's arcs, its debugfs files.

SimDevice plays both sides of the kernel: the VFIO core (the SET/GET ioctls of
VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE walking vfio_mig_get_next_state() arc by
arc under the driver's state mutex, drivers/vfio/vfio_main.c) and the core's
debugfs files (drivers/vfio/debugfs.c). Driver personalities subclass it and
fill in the arcs and their own files. Everything a file read or an ioctl can
fail with is an OSError carrying the kernel's errno.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sim.pace import Pace
from vfio_tui.model.formats import FeaturesFile, StateDialect, StateFile
from vfio_tui.model.fsm import KernelFsm, TransitionLoops, TransitionRefused, next_step
from vfio_tui.model.states import MigrationFlags, MigrationState

S = MigrationState


def os_error(code: int) -> OSError:
    """The error a syscall gives for `code`, as `cat` would print it."""
    return OSError(code, os.strerror(code))


def errno_name(code: int | None) -> str:
    """The errno's symbol (EINVAL...), as the kernel sources and transcripts name it."""
    return errno.errorcode.get(code or 0, str(code))


class DataStream:
    """A migration data fd: the saving side reads it, the resuming side writes it.

    Mirrors the driver's struct ..._migration_file: a buffer, a position, and a
    `disabled` flag after which every call fails with ENODEV.
    """

    def __init__(self, saving: bool, content: bytes = b"", capacity: int | None = None) -> None:
        self.saving = saving
        self.buffer = bytearray(content)
        self.pos = 0
        self.capacity = capacity
        self.disabled = False

    @property
    def filled(self) -> int:
        return len(self.buffer)

    def read(self, size: int = -1) -> bytes:
        """read(2) on the saving fd: what is left, or b"" at the end (mtty_save_read)."""
        if not self.saving:
            raise os_error(errno.EINVAL)
        if self.disabled:
            raise os_error(errno.ENODEV)
        end = self.filled if size < 0 else min(self.filled, self.pos + size)
        chunk = bytes(self.buffer[self.pos : end])
        self.pos = end
        return chunk

    def write(self, data: bytes) -> int:
        """write(2) on the resuming fd; refuses to grow past the device's data size."""
        if self.saving:
            raise os_error(errno.EINVAL)
        if self.disabled:
            raise os_error(errno.ENODEV)
        if self.capacity is not None and self.pos + len(data) > self.capacity:
            raise os_error(errno.ENOMEM)
        self.buffer[self.pos : self.pos + len(data)] = data
        self.pos += len(data)
        return len(data)

    def append(self, data: bytes) -> None:
        self.buffer += data

    def disable(self) -> None:
        self.disabled = True


@dataclass(frozen=True)
class PrecopyInfo:
    """VFIO_MIG_GET_PRECOPY_INFO: what can be read now, initial and dirty."""

    initial_bytes: int
    dirty_bytes: int


class SimDevice:
    """One migratable device: the core's view plus a driver personality.

    `driver` names the personality (hisi_acc, mtty, generic); `layout_files`
    lists the driver's own debugfs files; subclasses implement `_arc()`.
    """

    driver = "generic"

    def __init__(
        self,
        name: str,
        flags: MigrationFlags,
        *,
        pace: Pace | None = None,
        kernel: KernelFsm = KernelFsm.FIXED,
        features_file: bool = True,
        dirty_tracking: bool = False,
        state_dialect: StateDialect = StateDialect.MAINLINE,
        initial_state: MigrationState = S.RUNNING,
    ) -> None:
        self.name = name
        self.flags = flags
        self.pace = pace or Pace.instant()
        self.kernel = kernel
        self.features_file = features_file
        self.dirty_tracking = dirty_tracking
        self.state_dialect = state_dialect
        self.state = initial_state
        self.opened = False
        self.present = True  # False once unbound: the directory has gone
        self.state_mutex = asyncio.Lock()
        self.saving: DataStream | None = None
        self.resuming: DataStream | None = None
        self._stuck: asyncio.Event | None = None  # set: a hung driver is released
        self._hang_task: asyncio.Task[None] | None = None
        # Fault: entering this state starts a save worker that takes the state
        # mutex and never gives it back (a hung save; state reads block).
        self.hang_in: MigrationState | None = None
        self.observers: list[Callable[[SimDevice, MigrationState], None]] = []

    # --- the uAPI (what QEMU does) -------------------------------------------------

    def open(self) -> None:
        """open_device: the VFIO device fd is opened (QEMU starts using it)."""
        self._check_ioctl()
        self.opened = True

    def close(self) -> None:
        """close_device: the last fd closed. The migration state survives."""
        self._disable_files()
        self.opened = False

    async def reset(self) -> None:
        """VFIO_DEVICE_RESET: back to RUNNING, migration files disabled."""
        async with self.state_mutex:
            self._disable_files()
            self._set(S.RUNNING)

    async def get_state(self) -> MigrationState:
        """VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE GET (takes the state mutex)."""
        async with self.state_mutex:
            self._check_ioctl()
            return self.state

    async def set_state(self, target: MigrationState) -> DataStream | None:
        """VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE SET: walk arc by arc to `target`.

        Returns the new data fd an arc created, if any. Raises OSError with the
        kernel's errno; on failure the device stays at the last state it reached.
        An unpatched kernel asked for a blocked arc never returns.
        """
        async with self.state_mutex:
            self._check_ioctl()
            result: DataStream | None = None
            while self.state is not target:
                try:
                    step = next_step(self.state, target, self.flags, self.kernel)
                except TransitionRefused:
                    raise os_error(errno.EINVAL) from None
                except TransitionLoops:
                    await self._hang()
                    raise AssertionError("unreachable") from None
                await self.pace.sleep_arc()
                self._check_ioctl()
                result = await self._arc(self.state, step)
                self._set(step)
                if step is self.hang_in:
                    self._hang_task = asyncio.create_task(self._hung_save_worker())
            return result

    def precopy_info(self) -> PrecopyInfo:
        """VFIO_MIG_GET_PRECOPY_INFO on the saving fd (mtty_precopy_ioctl)."""
        stream = self.saving
        if stream is None or self.state not in (S.PRE_COPY, S.PRE_COPY_P2P):
            raise os_error(errno.EINVAL)
        if stream.disabled:
            raise os_error(errno.ENODEV)
        return PrecopyInfo(stream.filled - stream.pos, 0)

    # --- what drivers implement -----------------------------------------------------

    async def _arc(self, current: MigrationState, step: MigrationState) -> DataStream | None:
        """Perform one arc. The generic driver follows the mtty sample's choices."""
        if (current, step) in ((S.RUNNING, S.PRE_COPY), (S.RUNNING_P2P, S.PRE_COPY_P2P)):
            self.saving = DataStream(True, self.precopy_image())
            return self.saving
        if step is S.STOP_COPY and current in (S.PRE_COPY, S.PRE_COPY_P2P):
            assert self.saving is not None
            self.saving.append(self.stop_copy_image(precopied=self.saving.filled))
            return None  # same fd: the remaining bytes follow the pre-copy ones
        if (current, step) == (S.STOP, S.STOP_COPY):
            self.saving = DataStream(True, self.stop_copy_image(precopied=0))
            return self.saving
        if (current, step) in (
            (S.STOP_COPY, S.STOP),
            (S.PRE_COPY, S.RUNNING),
            (S.PRE_COPY_P2P, S.RUNNING_P2P),
        ):
            self._disable_files()
            return None
        if (current, step) == (S.STOP, S.RESUMING):
            self.resuming = DataStream(False, capacity=self.resume_capacity())
            return self.resuming
        if (current, step) == (S.RESUMING, S.STOP):
            assert self.resuming is not None
            self.load(bytes(self.resuming.buffer))
            self._disable_files()
            return None
        return None  # RUNNING <-> STOP and the P2P arcs change nothing we simulate

    def precopy_image(self) -> bytes:
        """What a pre-copy fd holds at first (the mtty header: 24 bytes)."""
        return self.image()[: self.precopy_size()]

    def precopy_size(self) -> int:
        return 0

    def stop_copy_image(self, precopied: int) -> bytes:
        """What STOP_COPY adds after `precopied` bytes already in the stream."""
        return self.image()[precopied:]

    def image(self) -> bytes:
        """The device's whole migration data as it is now."""
        return b""

    def resume_capacity(self) -> int | None:
        return None

    def load(self, data: bytes) -> None:
        """RESUMING -> STOP: check and load the data written; OSError if refused."""

    def on_files_disabled(self, saving: DataStream | None, resuming: DataStream | None) -> None:
        """Called when the migration files are closed (the hisi_acc debug copy hooks here)."""

    def driver_files(self) -> dict[str, Callable[[], Awaitable[bytes]]]:
        """The driver's own debugfs files under `migration/`, path -> reader."""
        return {}

    # --- debugfs ------------------------------------------------------------------

    def files(self) -> dict[str, Callable[[], Awaitable[bytes]]]:
        """Every file under `migration/`, path -> async reader (raises OSError)."""
        core: dict[str, Callable[[], Awaitable[bytes]]] = {"state": self._read_state}
        if self.features_file:
            core["features"] = self._read_features
        return core | self.driver_files()

    async def read_file(self, path: str) -> bytes:
        self._check_present()
        reader = self.files().get(path)
        if reader is None:
            raise os_error(errno.ENOENT)
        return await reader()

    async def _read_state(self) -> bytes:
        # migration_get_state() takes the driver's state mutex: blocks during an arc.
        async with self.state_mutex:
            self._check_present()
            return StateFile.of(self.state, self.state_dialect).render()

    async def _read_features(self) -> bytes:
        return FeaturesFile(self.flags, self.dirty_tracking).render()

    # --- faults and internals -----------------------------------------------------

    def unplug(self) -> None:
        """The device is unbound: its debugfs directory vanishes (reads fail ENOENT)."""
        self.present = False
        if self._stuck is not None:
            self._stuck.set()

    def release_hang(self) -> None:
        """Let a hung driver go (only the simulator can do that to a real one)."""
        if self._stuck is not None:
            self._stuck.set()

    @property
    def hung(self) -> bool:
        """A driver is stuck with the state mutex held."""
        return self._stuck is not None

    async def _hung_save_worker(self) -> None:
        # Let a poll or two see the new state first, as a person would.
        await self.pace.sleep_phase(0.5)
        async with self.state_mutex:
            try:
                await self._hang()
            except OSError:
                return  # released by the simulator

    async def _hang(self) -> None:
        """Spin forever with the state mutex held, as a stuck driver does."""
        self._stuck = asyncio.Event()
        await self._stuck.wait()
        self._stuck = None
        raise os_error(errno.ENODEV)

    def _check_present(self) -> None:
        """debugfs: the directory of an unbound device is gone."""
        if not self.present:
            raise os_error(errno.ENOENT)

    def _check_ioctl(self) -> None:
        """An ioctl on the fd of an unbound device."""
        if not self.present:
            raise os_error(errno.ENODEV)

    def _disable_files(self) -> None:
        saving, resuming = self.saving, self.resuming
        if saving is None and resuming is None:
            return
        self.on_files_disabled(saving, resuming)
        for stream in (saving, resuming):
            if stream is not None:
                stream.disable()
        self.saving = self.resuming = None

    def _set(self, state: MigrationState) -> None:
        if state is self.state:
            return
        self.state = state
        for observer in list(self.observers):
            observer(self, state)
