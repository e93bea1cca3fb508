"""Panes that must recover: a reconnect that meets a slow shell start is retried with
backoff, and `r` (Session.retry_now) tries again at once (issue 10)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.pair import HISI_MAINLINE_DEVICE, SimPair
from sim.sshserver import ServerFaults, SimSshServer
from tests.fixtures.session import make_session
from tests.transport.helpers import trusting
from vfio_tui.transport import ssh
from vfio_tui.transport.base import LinkState, TransportOptions

DEV = HISI_MAINLINE_DEVICE
READY = 5.0  # READY_TIMEOUT in these tests: ample for a fast start on a busy machine
SLOW = 120.0  # a shell start-up that never answers within it


@pytest.fixture
async def servers() -> AsyncIterator[list[SimSshServer]]:
    started: list[SimSshServer] = []
    yield started
    for server in started:
        server.kill()


async def until(condition: object, what: str, seconds: float = 30.0) -> None:
    """Wait for `condition()` (an async callable returning bool), polling."""
    deadline = time.monotonic() + seconds
    while not await condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.1)


async def test_reconnect_meeting_a_slow_shell_start_is_retried(
    pair: SimPair,
    tmp_path: Path,
    servers: list[SimSshServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ssh, "READY_TIMEOUT", READY)  # a shorter wait, the same rule
    faults = ServerFaults()
    server = SimSshServer(pair.host("src"), faults)
    await server.start()
    servers.append(server)
    transport = trusting(server, tmp_path)
    assert (await transport.read_files(DEV, ["state"]))["state"].ok
    port, key = server.port, server.host_key

    # The host reboots; its shell now starts too slowly to answer.
    server.kill()
    faults.ready_delay = SLOW
    restarted = SimSshServer(pair.host("src"), faults)
    await restarted.start(port, host_key=key)
    servers.append(restarted)

    async def met_slow_shell() -> bool:
        await transport.read_files(DEV, ["state"])
        return "did not answer" in transport.status.message

    await until(met_slow_shell, "a reconnect that meets the slow shell start", 60.0)
    assert transport.status.state is LinkState.RETRYING, transport.status.describe()
    assert "retrying in" in transport.status.describe()

    # The shell gets fast again: the pane recovers by itself, no restart needed.
    faults.ready_delay = 0.0

    async def recovered() -> bool:
        return (await transport.read_files(DEV, ["state"]))["state"].ok

    await until(recovered, "the backoff's next attempt to reconnect", 60.0)
    assert transport.status.state is LinkState.CONNECTED
    await transport.close()


async def test_poll_now_retries_a_backing_off_host_at_once(
    pair: SimPair,
    tmp_path: Path,
    servers: list[SimSshServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ssh, "READY_TIMEOUT", READY)
    monkeypatch.setattr(ssh, "BACKOFF_START", 60.0)  # the next attempt is far off
    faults = ServerFaults(ready_delay=SLOW)
    server = SimSshServer(pair.host("src"), faults)
    await server.start()
    servers.append(server)
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts_line() + "\n")
    session = make_session(
        tmp_path / "captures",
        f"ssh://tester@127.0.0.1:{server.port}#{DEV}",
        f"sim://dst#{DEV}",
        options=TransportOptions(known_hosts=str(known)),
    )
    source = session.sides["source"].transport
    slow = (await source.read_files(DEV, ["state"]))["state"].error
    assert slow is not None and "did not answer" in slow.message
    assert source.status.state is LinkState.RETRYING
    faults.ready_delay = 0.0
    waiting = (await source.read_files(DEV, ["state"]))["state"].error
    assert waiting is not None and waiting.message.startswith("retrying in")
    session.retry_now()  # what `r` does
    assert (await source.read_files(DEV, ["state"]))["state"].ok
    assert source.status.state is LinkState.CONNECTED
    await session.close()
