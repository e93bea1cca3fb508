"""Driving the real app with Textual's Pilot, and reading what the screen shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from sim.pace import Pace
from sim.pair import HISI_MAINLINE_DEVICE
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.hosts import SimWorld
from vfio_tui.ui.app import VfioTuiApp
from vfio_tui.ui.widgets.pane import DevicePane

DEV = HISI_MAINLINE_DEVICE
PHASE_DEADLINE = 30.0  # a phase waits at most this long for the app's polls (polling paused)


class Lockstep(Pace):
    """The simulator in step with the app, so no test races the machine's load.

    Arcs take no time, so a `state` read never waits on the driver's mutex and
    cannot run into the read timeout; each phase of a migration (and the
    hung-save driver's pause before it hangs) lasts until the app has polled
    both sides twice, so every state a migration rests in is seen however slow
    the machine is.
    """

    def __init__(self, hold: Callable[[], bool] | None = None) -> None:
        """`hold`: a phase also lasts while this is true (a test acting mid-migration)."""
        super().__init__(arc=0.0, phase=0.0)
        object.__setattr__(self, "app", None)
        object.__setattr__(self, "hold", hold or (lambda: False))

    def follow(self, app: VfioTuiApp) -> None:
        object.__setattr__(self, "app", app)

    async def sleep_arc(self) -> None:
        return

    async def sleep_phase(self, phases: float = 1.0) -> None:
        app: VfioTuiApp | None = self.app  # type: ignore[attr-defined]
        if app is None or "session" not in app.__dict__:
            return
        sides = app.session.sides
        polls = dict.fromkeys(sides, 0)
        last = {name: side.snapshot for name, side in sides.items()}
        deadline = time.monotonic() + PHASE_DEADLINE
        # Two polls: the second one started after the phase did.
        hold: Callable[[], bool] = self.hold  # type: ignore[attr-defined]
        while (min(polls.values()) < 2 or hold()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            for name, side in sides.items():
                if side.snapshot is not last[name]:
                    last[name] = side.snapshot
                    polls[name] += 1


def make_app(
    tmp_path: Path,
    device: str = DEV,
    *,
    pace: Pace | None = None,
    source: str | None = None,
    destination: str | None = None,
    **kwargs: object,
) -> VfioTuiApp:
    """The app on the simulated pair, polling quickly, with captures under tmp_path."""
    kwargs.setdefault("interval", 0.05)
    kwargs.setdefault("options", TransportOptions(read_timeout=0.3))
    app = VfioTuiApp(
        parse_host_url(source or f"sim://src#{device}"),
        parse_host_url(destination or f"sim://dst#{device}"),
        world=SimWorld(pace or Pace.instant()),
        capture_dir=tmp_path / "captures",
        **kwargs,  # type: ignore[arg-type]
    )
    if isinstance(pace, Lockstep):
        pace.follow(app)
    return app


def screen_text(app: VfioTuiApp) -> str:
    """The whole screen as plain text, as a person sees it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def flat(app: VfioTuiApp) -> str:
    """The whole screen as one line: wrapped text reads as one sentence."""
    return " ".join(screen_text(app).split())


def pane_text(app: VfioTuiApp, side: str) -> str:
    """The text inside one pane, as one line: borders gone, wrapped lines joined."""
    region = app.pane(side).region
    lines = screen_text(app).splitlines()[region.y : region.bottom]
    inner = (line[region.x : region.right].strip("│┃╭╮╰╯┏┓┗┛▊▎ ") for line in lines)
    return " ".join(" ".join(inner).split())


def log_text(app: VfioTuiApp) -> str:
    from textual.widgets import RichLog

    log = app._main.query_one("#log", RichLog)
    return " ".join(" ".join(strip.text for strip in log.lines).split())


async def wait_for(
    pilot: Pilot[int], condition: Callable[[], bool], timeout: float = 15.0, what: str = ""
) -> None:
    """Wait until `condition()` holds (never a fixed sleep); fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what or condition}")
        await pilot.pause(0.05)


def attached(app: VfioTuiApp) -> bool:
    return all(side.snapshot is not None for side in app.session.sides.values()) and isinstance(
        app.focused, DevicePane
    )


def notified(app: VfioTuiApp) -> str:
    """Every notification the app has shown (toasts are not drawn under Pilot)."""
    return " ".join(note.message for note in app._notifications)


async def shows(pilot: Pilot[int], app: VfioTuiApp, side: str, *texts: str) -> None:
    """Wait until the pane shows every one of `texts` (drawing can lag under load)."""
    for text in texts:
        await wait_for(
            pilot, lambda t=text: t in pane_text(app, side), what=f"{text!r} on the {side}"
        )
