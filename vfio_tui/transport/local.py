"""This machine's debugfs, read directly (root, or a debugfs tree written by `vfio-sim tree`).

A read that blocks in the kernel cannot be interrupted, so each read runs in
its own daemon thread: a hung read times out for the caller, and its thread
is left to the kernel without holding up the app or its exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import (
    MAX_FILE_BYTES,
    HostTransport,
    LinkState,
    listing_error,
    read_result,
)

T = TypeVar("T")


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


async def in_daemon_thread(func: Callable[[], T]) -> T:
    """Run blocking file I/O in a daemon thread; cancellation abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, exc: BaseException | None) -> None:
        if future.done():
            return  # the caller gave up (timed out); the late answer is dropped
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

    threading.Thread(target=run, name="vfio-tui-read", daemon=True).start()
    return await future


def list_migratable(root: str) -> dict[str, list[str]]:
    """Device directories under `root` that have migration/, with the files below it."""
    devices: dict[str, list[str]] = {}
    for name in sorted(os.listdir(root)):
        migration = os.path.join(root, name, "migration")
        if not os.path.isdir(migration):
            continue
        files = []
        for dirpath, _dirs, names in os.walk(migration):
            rel = os.path.relpath(dirpath, migration)
            files += [n if rel == "." else f"{rel}/{n}" for n in names]
        devices[name] = sorted(files)
    return devices


class LocalTransport(HostTransport):
    async def connect(self) -> None:
        self._set_status(LinkState.CONNECTED)

    async def close(self) -> None:
        self._set_status(LinkState.CLOSED)

    async def list_devices(self) -> dict[str, list[str]]:
        root = self.url.device_root
        try:
            return await in_daemon_thread(lambda: list_migratable(root))
        except OSError as exc:
            hint = ""
            if exc.errno in (errno.EACCES, errno.EPERM):
                hint = " (debugfs is readable by root only: run as root)"
            raise listing_error(root, exc, hint) from None

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        base = os.path.join(self.url.device_root, device, "migration")
        timeout = self.options.read_timeout
        results = {}
        for path in paths:
            full = os.path.join(base, path)
            reading = in_daemon_thread(functools.partial(read_capped, full, MAX_FILE_BYTES))
            results[path] = await read_result(path, reading, timeout)
        self._mark_good_read()
        return results
