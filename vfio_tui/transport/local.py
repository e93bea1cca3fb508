"""This machine's debugfs, read directly (root, or a debugfs tree written by `vfio-sim tree`).

A read that blocks in the kernel cannot be interrupted, so each read runs in
its own daemon thread: a hung read times out for the caller, and its thread
is left to the kernel without holding up the app or its exit. While a file's
read is still stuck, asking for that file again waits on the same read rather
than starting another thread, so a blocked file costs one thread, not one per
retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import stat
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.snapshot import FileResult, ReadErrorKind
from vfio_tui.transport.base import (
    MAX_FILE_BYTES,
    HostTransport,
    LinkState,
    TransportOptions,
    listing_error,
    read_result,
    timed_out,
)

T = TypeVar("T")

# Files that are not regular files, as a person calls them (debugfs files are regular).
_ODD_TYPES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_capped(path: str, limit: int) -> bytes:
    """Read a file to its end, or to one byte past `limit` (caller treats that as too large)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_type(path: str) -> str | None:
    """What `path` is when it is not a regular file or a directory ("a FIFO"...), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return _ODD_TYPES.get(stat.S_IFMT(mode))


def in_daemon_thread(func: Callable[[], T], what: str = "") -> asyncio.Future[T]:
    """Start blocking file I/O in a daemon thread (named after `what` it reads); its
    future. Cancelling the future abandons the thread (a read stuck in the kernel cannot
    be stopped)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, exc: BaseException | None) -> None:
        if future.done():
            return  # nobody waits any more; the late answer is dropped
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (func(), None)
        except BaseException as exc:
            outcome = (None, exc)
        # A read abandoned long ago may outlive its event loop: then nobody waits for it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    name = f"vfio-tui-read {what}" if what else "vfio-tui-read"
    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _walk_error(exc: OSError) -> None:
    raise exc


def list_migratable(root: str) -> dict[str, list[str]]:
    """Device directories under `root` that have migration/, with the files below it.

    A directory that cannot be searched or read raises (PermissionError...), rather than
    looking like a device without migration/ or without files.
    """
    devices: dict[str, list[str]] = {}
    for name in sorted(os.listdir(root)):
        migration = os.path.join(root, name, "migration")
        try:
            mode = os.stat(migration).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not stat.S_ISDIR(mode):
            continue
        files = []
        for dirpath, _dirs, names in os.walk(migration, onerror=_walk_error):
            rel = os.path.relpath(dirpath, migration)
            files += [n if rel == "." else f"{rel}/{n}" for n in names]
        devices[name] = sorted(files)
    return devices


class LocalTransport(HostTransport):
    def __init__(self, url: HostUrl, options: TransportOptions) -> None:
        super().__init__(url, options)
        self._pending: dict[str, asyncio.Future[bytes]] = {}  # full path: a read still running

    async def connect(self) -> None:
        self._set_connected()

    async def close(self) -> None:
        self._set_status(LinkState.CLOSED)

    async def list_devices(self) -> dict[str, list[str]]:
        root = self.url.device_root
        try:
            return await in_daemon_thread(lambda: list_migratable(root), root)
        except OSError as exc:
            hint = ""
            if exc.errno in (errno.EACCES, errno.EPERM):
                hint = " (debugfs is readable by root only: run as root)"
            raise listing_error(root, exc, hint) from None

    def _reading(self, full: str) -> asyncio.Future[bytes]:
        """The read of `full`: the one still running from an earlier poll, or a new one."""
        pending = self._pending.get(full)
        if pending is not None and not pending.done():
            return pending
        pending = in_daemon_thread(functools.partial(read_capped, full, MAX_FILE_BYTES), full)
        self._pending[full] = pending

        def finished(done: asyncio.Future[bytes]) -> None:
            if self._pending.get(full) is done:
                del self._pending[full]
            if not done.cancelled():
                done.exception()  # retrieved: a late failure nobody waits for is not an error

        pending.add_done_callback(finished)
        return pending

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        base = os.path.join(self.url.device_root, device, "migration")
        timeout = self.options.read_timeout
        results = {}
        for path in paths:
            full = os.path.join(base, path)
            result = await read_result(path, asyncio.shield(self._reading(full)), timeout)
            if result.error is not None and result.error.kind is ReadErrorKind.TIMED_OUT:
                result = timed_out(path, timeout, file_type(full))
            results[path] = result
        self._mark_good_read()
        return results
