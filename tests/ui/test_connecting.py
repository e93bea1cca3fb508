"""Connecting: the host key dialog, the device picker, stale panes, a hung host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.pace import Pace
from sim.pair import HISI_MAINLINE_DEVICE, SimPair, default_pair
from sim.sshserver import SimSshServer, serve_pair, write_known_hosts
from tests.ui.helpers import (
    DEV,
    Lockstep,
    attached,
    log_text,
    make_app,
    pane_text,
    screen_text,
    wait_for,
)
from vfio_tui.transport.base import LinkState, TransportOptions
from vfio_tui.ui.screens.dialogs import HostKeyScreen, PickerScreen
from vfio_tui.ui.widgets.pane import StateBanner


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimPair, list[SimSshServer]]]:
    pair = default_pair(Pace.instant())
    servers = await serve_pair([pair.src, pair.dst])
    yield pair, servers
    for server in servers:
        server.kill()
    await pair.stop()


def ssh_app(tmp_path: Path, servers: list[SimSshServer], **kwargs: object):  # type: ignore[no-untyped-def]
    return make_app(
        tmp_path,
        source=f"ssh://demo@127.0.0.1:{servers[0].port}#{DEV}",
        destination=f"ssh://demo@127.0.0.1:{servers[1].port}#{DEV}",
        options=TransportOptions(known_hosts=str(tmp_path / "known_hosts"), read_timeout=0.3),
        **kwargs,
    )


async def test_unknown_host_key_asks_and_accepting_once_connects(
    tmp_path: Path, served: tuple[SimPair, list[SimSshServer]]
) -> None:
    _pair, servers = served
    app = ssh_app(tmp_path, servers)
    async with app.run_test(size=(100, 30)) as pilot:
        answered: list[object] = []
        for _ in servers:
            # One dialog at a time: the second host's waits until the first is answered.
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, HostKeyScreen) and app.screen not in answered,
                what="the next host key dialog",
            )
            screen = app.screen
            assert isinstance(screen, HostKeyScreen)
            answered.append(screen)
            assert screen.problem.fingerprint in (
                servers[0].host_key.get_fingerprint("sha256"),  # type: ignore[union-attr]
                servers[1].host_key.get_fingerprint("sha256"),  # type: ignore[union-attr]
            )
            shown = f"Fingerprint: {screen.problem.fingerprint}"
            await wait_for(
                pilot, lambda s=shown: s in screen_text(app), what="the fingerprint shown"
            )
            assert app.screen is screen
            for side in ("source", "destination"):  # the state box agrees with the link line
                pane = app.pane(side)
                if pane.status.state is LinkState.FAILED:
                    banner = pane.query_one(StateBanner).render().plain  # type: ignore[attr-defined]
                    assert "connecting" not in banner and "not connected" in banner
            await pilot.press("o")
        await wait_for(pilot, lambda: attached(app), what="both sides connected")
        assert "▶ RUNNING" in pane_text(app, "source")
        assert "accepted (once)" in log_text(app)
        # two servers on one address: each pane names its port
        assert f"SOURCE 127.0.0.1:{servers[0].port}" in screen_text(app)
        assert f"DESTINATION 127.0.0.1:{servers[1].port}" in screen_text(app)
    assert not (tmp_path / "known_hosts").exists()


async def test_refusing_the_host_key_quits(
    tmp_path: Path, served: tuple[SimPair, list[SimSshServer]]
) -> None:
    _pair, servers = served
    app = ssh_app(tmp_path, servers)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1
    assert all(server.sessions == 0 for server in servers)


async def test_device_picker_when_a_host_has_several(tmp_path: Path) -> None:
    app = make_app(tmp_path, source="sim://src", destination=f"sim://dst#{DEV}")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # the first device: 0000:3b:00.2
        await wait_for(pilot, lambda: attached(app))
        assert app.session.sides["source"].device == HISI_MAINLINE_DEVICE
        assert "watching 0000:3b:00.2" in log_text(app)


async def test_a_lost_host_goes_stale_and_reconnects(
    tmp_path: Path, served: tuple[SimPair, list[SimSshServer]]
) -> None:
    pair, servers = served
    known = tmp_path / "known_hosts"
    write_known_hosts(str(known), [s.known_hosts_line() for s in servers])
    app = ssh_app(tmp_path, servers, interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        port, key = servers[0].port, servers[0].host_key
        servers[0].kill()
        await wait_for(pilot, lambda: "STALE" in pane_text(app, "source"), what="stale source")
        await wait_for(pilot, lambda: "retrying in" in pane_text(app, "source"))
        assert "STALE" not in pane_text(app, "destination")  # the other side carries on
        restarted = SimSshServer(pair.src)
        await restarted.start(port, host_key=key)
        servers.append(restarted)
        await wait_for(
            pilot, lambda: "STALE" not in pane_text(app, "source"), what="reconnected", timeout=20
        )
        assert "● connected" in pane_text(app, "source")


async def test_a_hung_host_never_stalls_the_other_pane(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep(), scenario="hung-save", interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "BLOCKED" in pane_text(app, "source"))
        destination = app.session.sides["destination"]
        before = destination.snapshot.taken_at  # type: ignore[union-attr]
        await wait_for(
            pilot,
            lambda: destination.snapshot.taken_at > before + 0.5,  # type: ignore[union-attr]
            what="the destination keeps being polled",
        )
        await pilot.press("p")  # and the keys still answer
        await wait_for(pilot, lambda: app.paused)
