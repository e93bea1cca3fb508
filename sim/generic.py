"""A generic migratable device whose flags and data size are chosen by the user.

It stands for the drivers that add no debugfs files of their own (mlx5, pds,
virtio, qat, xe): only `state` and `features`. Its data is deterministic
pseudo-random bytes, as large as asked, so big-data views can be exercised.
"""

from __future__ import annotations

import random

from sim.device import SimDevice
from vfio_tui.model.states import MigrationFlags


class GenericDevice(SimDevice):
    driver = "generic"

    def __init__(
        self,
        name: str,
        flags: MigrationFlags = MigrationFlags.STOP_COPY | MigrationFlags.P2P,
        *,
        data_size: int = 4096,
        **kwargs: object,
    ) -> None:
        super().__init__(name, flags, **kwargs)  # type: ignore[arg-type]
        self.data_size = data_size
        self._data = random.Random(name).randbytes(data_size)

    def image(self) -> bytes:
        return self._data

    def precopy_size(self) -> int:
        return self.data_size // 4

    def resume_capacity(self) -> int:
        return self.data_size

    def load(self, data: bytes) -> None:
        self._data = data
