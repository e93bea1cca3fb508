"""The built-in simulated hosts, read in process (no SSH, no root)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.host import SimHost
from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import (
    HostTransport,
    LinkState,
    TransportOptions,
    listing_error,
    read_result,
)


class SimTransport(HostTransport):
    """Reads a simulated host; `host` is looked up each time, so a reset pair is followed."""

    def __init__(
        self, url: HostUrl, options: TransportOptions, host: Callable[[], SimHost]
    ) -> None:
        super().__init__(url, options)
        self._host = host

    @property
    def host(self) -> SimHost:
        return self._host()

    async def connect(self) -> None:
        self._set_connected()

    async def close(self) -> None:
        self._set_status(LinkState.CLOSED)

    async def list_devices(self) -> dict[str, list[str]]:
        try:
            return self.host.migratable()
        except OSError as exc:
            raise listing_error(self.url.device_root, exc) from None

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        timeout = self.options.read_timeout
        results = {
            path: await read_result(
                path, self.host.read(f"vfio/{device}/migration/{path}"), timeout
            )
            for path in paths
        }
        self._mark_good_read()
        return results
