"""A simulated host: its vfio devices, seen through a debugfs tree.

Paths are relative to the debugfs root (normally /sys/kernel/debug), so
`vfio/<device>/migration/state` reads a device's state. Every failure is an
OSError with the errno a real read would give: ENOENT for what is not there
(or has vanished), EACCES when debugfs is closed to the reader.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from sim.device import SimDevice, os_error


class SimHost:
    def __init__(
        self,
        name: str,
        devices: Iterable[SimDevice],
        *,
        hostname: str | None = None,
        kernel_release: str = "6.18.0-sim",
        other_vfio_devices: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.hostname = hostname or f"sim-{name}"
        self.kernel_release = kernel_release
        self.devices: dict[str, SimDevice] = {d.name: d for d in devices}
        # vfio devices without migration support: a directory with no migration/
        self.other_vfio_devices = list(other_vfio_devices)
        self.debugfs_readable = True  # False: debugfs is 0700 root and we are not root

    def device(self, name: str) -> SimDevice:
        return self.devices[name]

    def present_devices(self) -> list[SimDevice]:
        return [d for d in self.devices.values() if d.present]

    # --- the debugfs tree -------------------------------------------------------------

    def _check_access(self) -> None:
        # debugfs is mode 0700 root: a non-root reader gets EACCES on every path.
        if not self.debugfs_readable:
            raise os_error(errno.EACCES)

    def _tree(self) -> tuple[set[str], dict[str, tuple[SimDevice, str]]]:
        """Every directory, and every file with its device and path under migration/."""
        dirs = {"", "vfio"} | {f"vfio/{name}" for name in self.other_vfio_devices}
        files: dict[str, tuple[SimDevice, str]] = {}
        for device in self.present_devices():
            base = f"vfio/{device.name}/migration"
            dirs |= {f"vfio/{device.name}", base}
            for inner in device.files():
                files[f"{base}/{inner}"] = (device, inner)
                parent = f"{base}/{inner}".rsplit("/", 1)[0]
                dirs.add(parent)
        return dirs, files

    def list_dir(self, path: str) -> list[str]:
        """The entries of a directory under the debugfs root (os.listdir's answer)."""
        self._check_access()
        path = path.strip("/")
        dirs, files = self._tree()
        if path not in dirs:
            raise os_error(errno.ENOTDIR if path in files else errno.ENOENT)
        prefix = f"{path}/" if path else ""
        children = {
            entry[len(prefix) :].split("/", 1)[0]
            for entry in (dirs | set(files))
            if entry.startswith(prefix) and entry != path
        }
        return sorted(children)

    async def read(self, path: str) -> bytes:
        """The content of a file under the debugfs root, as one read of it returns."""
        self._check_access()
        path = path.strip("/")
        dirs, files = self._tree()
        if path in files:
            device, inner = files[path]
            return await device.read_file(inner)
        raise os_error(errno.EISDIR if path in dirs else errno.ENOENT)

    def migratable(self) -> dict[str, list[str]]:
        """Every migratable device with the files under its `migration/` directory."""
        self._check_access()
        return {d.name: sorted(d.files()) for d in self.present_devices()}
