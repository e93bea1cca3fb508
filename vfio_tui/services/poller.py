"""Polling one device: the pure-read files, one request per poll, blocked files left alone.

A read that blocks in the kernel cannot be cancelled on the host: the reader
waits in the kernel until the driver lets go. So a file whose read timed out
is not read again at once; it is retried after a backoff (5 s, doubling to
60 s) and meanwhile reported as still blocked.

The device's file list (which files to poll, and so its layout) is refreshed
by listing the host again, which costs a round trip of its own, so only: every
5 s while the list looks wrong (empty, no `state`, as when the device was
listed while its debugfs files were being created) or a listed file has
vanished (the device was unplugged, the driver reloaded); and otherwise once a
minute, which catches a file that appears beside the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from vfio_tui.model.layout import FileKind, poll_files
from vfio_tui.model.snapshot import DeviceSnapshot, FileResult, ReadError, ReadErrorKind
from vfio_tui.transport.base import HostError, HostTransport

BLOCKED_FIRST_RETRY = 5.0
BLOCKED_MAX_RETRY = 60.0
RELIST_EVERY = 5.0  # seconds between listings while the file list looks wrong
RELIST_IDLE = 60.0  # seconds between listings otherwise


@dataclass
class Blocked:
    since: float
    retry_at: float
    backoff: float


class DevicePoller:
    def __init__(
        self,
        transport: HostTransport,
        device: str,
        files: list[str],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.device = device
        self.listing = sorted(files)  # every file under migration/, as last listed
        self.files = poll_files(files)  # the ones a poll reads
        self.now = now
        self.blocked: dict[str, Blocked] = {}
        self.listed_at = now()  # when `listing` was taken, on the `now` clock
        self._vanished = False  # the last poll found a listed file gone

    async def poll(self) -> DeviceSnapshot:
        now = self.now()
        await self._maybe_relist(now)
        due = [p for p in self.files if p not in self.blocked or self.blocked[p].retry_at <= now]
        snap = await self.transport.snapshot(self.device, due)
        files: dict[str, FileResult] = {}
        for path in self.files:
            result = snap.files.get(path)
            if result is None:
                files[path] = self._still_blocked(path, now)
                continue
            files[path] = result
            if result.error is not None and result.error.kind is ReadErrorKind.TIMED_OUT:
                self._note_blocked(path, now)
            else:
                self.blocked.pop(path, None)
        self._vanished = any(_vanished(r) for r in files.values())
        return replace(snap, files=files)

    def _note_blocked(self, path: str, now: float) -> None:
        known = self.blocked.get(path)
        if known is None:
            self.blocked[path] = Blocked(now, now + BLOCKED_FIRST_RETRY, BLOCKED_FIRST_RETRY)
        else:
            backoff = min(known.backoff * 2, BLOCKED_MAX_RETRY)
            self.blocked[path] = Blocked(known.since, now + backoff, backoff)

    def _still_blocked(self, path: str, now: float) -> FileResult:
        known = self.blocked[path]
        message = (
            f"blocked for {now - known.since:.0f} s; not read again for "
            f"{known.retry_at - now:.0f} s (a blocked read cannot be cancelled on the host)"
        )
        return FileResult(path, error=ReadError(ReadErrorKind.TIMED_OUT, message))

    async def _maybe_relist(self, now: float) -> None:
        """List the device's files again when it is time to (see the module's docstring)."""
        suspicious = self._vanished or FileKind.STATE.path not in self.listing
        if now - self.listed_at < (RELIST_EVERY if suspicious else RELIST_IDLE):
            return
        self.listed_at = now
        try:
            devices = await self.transport.list_devices()
        except HostError:
            return  # the link's status says why; the next poll's reads will too
        if self.device in devices:
            self.listing = sorted(devices[self.device])
            self.files = poll_files(self.listing)


def _vanished(result: FileResult) -> bool:
    return result.error is not None and result.error.kind is ReadErrorKind.NOT_FOUND
