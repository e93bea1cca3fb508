"""Small helpers the transport tests share."""

from __future__ import annotations

from vfio_tui.model.layout import poll_files
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import HostTransport


async def read_everything(transport: HostTransport) -> dict[str, dict[str, FileResult]]:
    """Every migratable device's pure-read files, as one poll each would read them."""
    devices = await transport.list_devices()
    return {
        name: await transport.read_files(name, poll_files(files))
        for name, files in sorted(devices.items())
    }
