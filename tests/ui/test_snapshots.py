"""SVG snapshots of the real app at 80x24 and 120x40, with every clock frozen.

Update after an intended change with: pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import RichLog

from sim.pace import Pace
from tests.ui.helpers import DEV, Lockstep, attached, pane_text, wait_for
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.hosts import SimWorld
from vfio_tui.ui.app import VfioTuiApp

FROZEN_WALL = 1_700_000_000.0  # before any real read, so ages show as 0.0 s


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in a fresh directory: captures go to a relative path, the same in every picture."""
    monkeypatch.chdir(tmp_path)


def frozen_app(name: str, pace: Pace | None = None, **kwargs: Any) -> VfioTuiApp:
    app = VfioTuiApp(
        parse_host_url(f"sim://src#{DEV}"),
        parse_host_url(f"sim://dst#{DEV}"),
        options=TransportOptions(read_timeout=0.3),
        world=SimWorld(pace or Pace.instant()),
        capture_dir=Path("captures") / name,
        interval=0.05,
        clock=lambda: 100.0,
        wallclock=lambda: FROZEN_WALL,
        **kwargs,
    )
    if isinstance(pace, Lockstep):
        pace.follow(app)
    return app


async def settled(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, VfioTuiApp)
    await wait_for(pilot, lambda: attached(app))
    await pilot.press("p")  # pause: nothing moves while the picture is taken
    await pilot.pause(0.1)


def test_main_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(frozen_app("main80"), terminal_size=(80, 24), run_before=settled)


def test_after_a_migration_120x40(snap_compare: Any) -> None:
    async def migrate(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, VfioTuiApp)
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "▶ RUNNING" in pane_text(app, "destination"))
        await wait_for(pilot, lambda: "■ STOP" in pane_text(app, "source"))
        await settled(pilot)
        # The two sides poll concurrently, so the order of their lines in the timeline
        # and the log varies from run to run; the panes are what this picture checks.
        for log in app._main.query(RichLog).results(RichLog):
            log.clear()
        await pilot.pause(0.1)

    # In lockstep with the polls, every state the migration rests in is seen however
    # busy the machine is, so the verdict line is the same in every run.
    app = frozen_app("migrated120", pace=Lockstep())
    assert snap_compare(app, terminal_size=(120, 40), run_before=migrate)


def test_help_screen_80x24(snap_compare: Any) -> None:
    async def help_open(pilot: Pilot[int]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)

    assert snap_compare(frozen_app("help80"), terminal_size=(80, 24), run_before=help_open)


def test_read_only_80x24(snap_compare: Any) -> None:
    async def refused(pilot: Pilot[int]) -> None:
        await settled(pilot)
        await pilot.press("s")
        await pilot.pause(0.1)

    app = frozen_app("readonly80", read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=refused)
