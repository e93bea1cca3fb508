"""Small helpers the transport tests share."""

from __future__ import annotations

from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import HostTransport


def pure(files: list[str]) -> list[str]:
    """The files polling reads: known and not actions."""
    kinds = [FileKind.from_path(f) for f in files]
    return [f for f, k in zip(files, kinds, strict=True) if k is not None and not k.is_action]


async def read_everything(transport: HostTransport) -> dict[str, dict[str, FileResult]]:
    """Every migratable device's pure-read files, as one poll each would read them."""
    devices = await transport.list_devices()
    return {
        name: await transport.read_files(name, pure(files))
        for name, files in sorted(devices.items())
    }
