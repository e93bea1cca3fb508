"""Blocked reads: the deadline is per file, as documented, over SSH as locally; and a
read that stays blocked leaves nothing behind, neither threads here nor processes on the
host (issue 10). A FIFO stands in for a debugfs file whose driver holds its mutex: its
reader blocks until a writer comes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.sshd import Sshd, current_user
from tests.transport.test_openssh import transport as ssh_transport
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import HostTransport, TransportOptions
from vfio_tui.transport.local import LocalTransport

DEV = "0000:3b:00.2"


@pytest.fixture
def debugfs(tmp_path: Path) -> Iterator[Path]:
    """A debugfs root whose device has a FIFO `state` and a FIFO `features`; released
    (every blocked reader let go) at the end."""
    base = tmp_path / "debug" / "vfio" / DEV / "migration"
    base.mkdir(parents=True)
    for name in ("state", "features"):
        os.mkfifo(base / name)
    for directory in (tmp_path, *base.parents, base):
        if directory.is_relative_to(tmp_path):
            directory.chmod(0o755)
    yield tmp_path / "debug"
    for name in ("state", "features"):
        release(base / name)


def release(fifo: Path) -> None:
    """Let every reader blocked on `fifo` go (they read end of file)."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def slow_file(fifo: Path, content: bytes, delay: float) -> threading.Thread:
    """Serve `content` to the next reader of `fifo`, `delay` seconds after it opens it."""

    def serve() -> None:
        with open(fifo, "wb") as out:  # blocks until the reader opens the FIFO
            time.sleep(delay)
            out.write(content)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.05)


# --- the deadline is per file -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["ssh", "local"])
async def test_each_file_has_its_own_deadline(kind: str, sshd: Sshd, debugfs: Path) -> None:
    # 2.5 s then 2.0 s: each well within the 4 s a file may take, together not.
    migration = debugfs / "vfio" / DEV / "migration"
    host: HostTransport
    if kind == "ssh":
        host = ssh_transport(sshd, current_user(), debugfs, read_timeout=4.0)
        await host.connect()  # connecting is not part of the reads' time
    else:
        host = LocalTransport(
            parse_host_url(f"local://{debugfs}"), TransportOptions(read_timeout=4.0)
        )
    writers = [
        slow_file(migration / "state", b"RUNNING\n", 2.5),
        slow_file(migration / "features", b"stop-copy\n", 2.0),
    ]
    result = await host.read_files(DEV, ["state", "features"])
    assert result["state"].data == b"RUNNING\n", result["state"].error
    assert result["features"].data == b"stop-copy\n", result["features"].error
    for writer in writers:
        writer.join(5)
    await host.close()


# --- nothing left behind ------------------------------------------------------------------


def read_threads(of: Path) -> int:
    """Threads reading `of` (other tests' threads may come and go meanwhile)."""
    return sum(1 for t in threading.enumerate() if t.name == f"vfio-tui-read {of}")


async def test_a_blocked_local_read_costs_one_thread_however_often_it_is_retried(
    debugfs: Path,
) -> None:
    state_file = debugfs / "vfio" / DEV / "migration" / "state"
    local = LocalTransport(parse_host_url(f"local://{debugfs}"), TransportOptions(read_timeout=0.2))
    for _ in range(6):  # the poller retries a blocked file; so does `r`
        state = (await local.read_files(DEV, ["state"]))["state"].error
        assert state is not None and state.kind is ReadErrorKind.TIMED_OUT
        assert "is a FIFO, not a regular file" in state.message
    assert read_threads(state_file) == 1
    release(state_file)
    await wait_for(lambda: read_threads(state_file) == 0, "the blocked thread to end")
    # Once it returned (with what the release gave it), the file is read afresh.
    writer = slow_file(state_file, b"STOP\n", 0.0)
    fresh: list[bytes | None] = []

    async def read_fresh() -> bool:
        fresh.append((await local.read_files(DEV, ["state"]))["state"].data)
        return fresh[-1] == b"STOP\n"

    deadline = time.monotonic() + 20
    while not await read_fresh():
        assert time.monotonic() < deadline, f"never read afresh: {fresh}"
    writer.join(5)
    await wait_for(lambda: read_threads(state_file) == 0, "every read's thread to end")


def processes() -> dict[int, tuple[int, str]]:
    """Every process on this machine (the SSH host): pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (ppid, cmdline.strip())
    return found


def reader_tree(marker: str) -> set[int]:
    """The remote reader (`sh -s`) that runs a command naming `marker`, and everything
    below it: its subshells, head, base64, watchdogs."""
    procs = processes()
    heads = [pid for pid, (_, cmd) in procs.items() if marker in cmd and "head" in cmd]
    roots = set()
    for pid in heads:
        while pid in procs and procs[pid][1] != "sh -s":
            pid = procs[pid][0]
        if pid in procs:
            roots.add(pid)
    tree = set(roots)
    grown = True
    while grown:
        grown = False
        for pid, (ppid, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return tree


def heads_reading(marker: str) -> int:
    return sum(1 for _, cmd in processes().values() if marker in cmd and "head" in cmd)


async def test_blocked_remote_reads_leave_nothing_running_on_the_host(
    sshd: Sshd, debugfs: Path
) -> None:
    marker = str(debugfs / "vfio" / DEV / "migration" / "state")
    remote = ssh_transport(sshd, current_user(), debugfs, read_timeout=0.3)
    for _ in range(4):  # four polls meet the blocked state
        state = (await remote.read_files(DEV, ["state"]))["state"].error
        assert state is not None and state.kind is ReadErrorKind.TIMED_OUT
        assert "is a FIFO, not a regular file" in state.message
    await wait_for(lambda: heads_reading(marker) > 0, "the blocked head to show")
    assert heads_reading(marker) == 1  # one blocked read on the host, not one per poll
    left = reader_tree(marker)
    assert len(left) >= 3  # the reader, the read's subshells and head
    await remote.close()  # the app quits
    await wait_for(
        lambda: not (left & set(processes())),
        f"the reader's processes to end (left: {sorted(left & set(processes()))})",
    )
    assert heads_reading(marker) == 0
