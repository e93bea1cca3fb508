"""The built-in simulated hosts, read in process (no SSH, no root)."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Sequence

from sim.host import SimHost
from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.snapshot import FileResult, ReadError, ReadErrorKind
from vfio_tui.transport.base import (
    MAX_FILE_BYTES,
    HostError,
    HostTransport,
    LinkState,
    TransportOptions,
    timed_out,
    too_large,
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
        self._set_status(LinkState.CONNECTED)

    async def close(self) -> None:
        self._set_status(LinkState.CLOSED)

    async def list_devices(self) -> dict[str, list[str]]:
        try:
            return self.host.migratable()
        except OSError as exc:
            raise HostError(
                ReadError.from_errno(exc.errno or errno.EIO).kind,
                f"{self.url.device_root}: {exc.strerror}",
            ) from None

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        results = {}
        for path in paths:
            results[path] = await self._read_one(f"vfio/{device}/migration/{path}", path)
        if all(
            r.ok or r.error is None or r.error.kind is not ReadErrorKind.HOST_UNREACHABLE
            for r in results.values()
        ):
            self._mark_good_read()
        return results

    async def _read_one(self, full: str, path: str) -> FileResult:
        timeout = self.options.read_timeout
        try:
            async with asyncio.timeout(timeout):
                data = await self.host.read(full)
        except TimeoutError:
            return timed_out(path, timeout)
        except OSError as exc:
            return FileResult(path, error=ReadError.from_errno(exc.errno or errno.EIO))
        if len(data) > MAX_FILE_BYTES:
            return too_large(path)
        return FileResult(path, data=data)
