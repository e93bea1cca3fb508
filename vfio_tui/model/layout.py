"""The debugfs files a migratable device can have, and the layouts they form.

Paths are relative to /sys/kernel/debug/vfio/<device>/migration/. The core files
come from drivers/vfio/debugfs.c; the hisi_acc files from the 2023 patch series
(attr, data, save, io_test) or from mainline 6.13's
drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c (dev_data, migf_data, cmd_state).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class FileKind(enum.Enum):
    """One debugfs file, by its path under `migration/`."""

    STATE = "state"
    FEATURES = "features"
    ATTR = "hisi_acc/attr"
    DATA = "hisi_acc/data"
    SAVE = "hisi_acc/save"
    IO_TEST = "hisi_acc/io_test"
    DEV_DATA = "hisi_acc/dev_data"
    MIGF_DATA = "hisi_acc/migf_data"
    CMD_STATE = "hisi_acc/cmd_state"

    @property
    def path(self) -> str:
        return self.value

    @property
    def short(self) -> str:
        """The file's own name, as a person calls it."""
        return self.value.rsplit("/", 1)[-1]

    @property
    def is_action(self) -> bool:
        """Reading it makes the device do something (a save, MMIO, mailbox commands).

        Action files are never read by polling, only on a person's request.
        """
        return self in _ACTIONS

    @property
    def carries_data(self) -> bool:
        """Its content is a hex dump of migration data (struct acc_vf_data)."""
        return self in (FileKind.DATA, FileKind.DEV_DATA, FileKind.MIGF_DATA)

    @classmethod
    def from_path(cls, path: str) -> FileKind | None:
        """The kind for a path under `migration/`, or None for a file we do not know."""
        try:
            return cls(path)
        except ValueError:
            return None


_ACTIONS = frozenset({FileKind.SAVE, FileKind.IO_TEST, FileKind.DEV_DATA, FileKind.CMD_STATE})


class Layout(enum.Enum):
    """Which set of driver files a device shows; detected from the files present."""

    HISI_2023 = "hisi_acc (2023 series)"
    HISI_MAINLINE = "hisi_acc (mainline 6.13+)"
    CORE = "core only"

    @property
    def short(self) -> str:
        return {Layout.HISI_2023: "hisi_acc 2023", Layout.HISI_MAINLINE: "hisi_acc 6.13"}.get(
            self, "core"
        )

    @property
    def save_file(self) -> FileKind | None:
        """The file behind the `save` key: the 2023 `save`, or a fresh `dev_data` read."""
        return {Layout.HISI_2023: FileKind.SAVE, Layout.HISI_MAINLINE: FileKind.DEV_DATA}.get(self)

    @property
    def io_test_file(self) -> FileKind | None:
        """The file behind the `io_test` key: the 2023 `io_test`, or `cmd_state`."""
        return {Layout.HISI_2023: FileKind.IO_TEST, Layout.HISI_MAINLINE: FileKind.CMD_STATE}.get(
            self
        )

    @property
    def data_file(self) -> FileKind | None:
        """The pure-read file holding the last saved or migrated data."""
        return {Layout.HISI_2023: FileKind.DATA, Layout.HISI_MAINLINE: FileKind.MIGF_DATA}.get(self)


def detect_layout(paths: Iterable[str]) -> Layout:
    """The layout of a device from the paths it has under `migration/`."""
    present = set(paths)
    if FileKind.MIGF_DATA.path in present or FileKind.DEV_DATA.path in present:
        return Layout.HISI_MAINLINE
    if FileKind.ATTR.path in present or FileKind.SAVE.path in present:
        return Layout.HISI_2023
    return Layout.CORE


def poll_files(paths: Iterable[str]) -> list[str]:
    """The known files among `paths` that polling may read (pure reads only), in FileKind order."""
    present = {FileKind.from_path(p) for p in paths}
    return [k.path for k in FileKind if k in present and not k.is_action]
