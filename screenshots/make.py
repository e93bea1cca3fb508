"""Regenerate the screenshots in this directory from the real app on the simulator.

Run:  .venv/bin/python -m screenshots.make

Writes SVG (Textual's own export) and PNG (rendered from the SVG with
rsvg-convert, from Debian's librsvg2-bin) for: the main screen during a
migration, the help screen, a failed migration, read-only mode, and the diff.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from sim.names import HISI_MAINLINE_DEVICE
from sim.pace import Pace
from tests.ui.helpers import attached, log_text, pane_text, wait_for
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.hosts import SimWorld
from vfio_tui.ui.app import VfioTuiApp

HERE = Path(__file__).parent
SIZE = (120, 36)
DEV = HISI_MAINLINE_DEVICE

Steps = Callable[[Pilot[int], VfioTuiApp], Awaitable[None]]


async def shoot(name: str, steps: Steps, **kwargs: object) -> None:
    with tempfile.TemporaryDirectory() as captures:
        app = VfioTuiApp(
            parse_host_url(f"sim://src#{DEV}"),
            parse_host_url(f"sim://dst#{DEV}"),
            world=SimWorld(kwargs.pop("pace", Pace.scaled(0.3))),  # type: ignore[arg-type]
            capture_dir=Path(captures),
            interval=0.1,
            **kwargs,  # type: ignore[arg-type]
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: attached(app), timeout=30)
            await steps(pilot, app)
            await pilot.pause(0.3)
            svg = HERE / f"{name}.svg"
            app.save_screenshot(str(svg))
    # rsvg-convert drops the leading spaces of each styled run (`migf_datamigration
    # data`, `EAGAIN— no`) unless told to keep whitespace as it is.
    text = svg.read_text(encoding="utf-8")
    svg.write_text(text.replace("<svg ", '<svg xml:space="preserve" ', 1), encoding="utf-8")
    png = svg.with_suffix(".png")
    command = ["rsvg-convert", "-w", "1800", str(svg), "-o", str(png)]
    await asyncio.to_thread(subprocess.run, command, check=True)
    print(f"wrote {svg.name} and {png.name}")


async def during_migration(pilot: Pilot[int], app: VfioTuiApp) -> None:
    await pilot.press("m")
    await wait_for(pilot, lambda: "STOP_COPY" in pane_text(app, "source"), timeout=30)
    await pilot.press("p")


async def help_screen(pilot: Pilot[int], app: VfioTuiApp) -> None:
    await pilot.press("p", "question_mark")


async def failed_migration(pilot: Pilot[int], app: VfioTuiApp) -> None:
    await pilot.press("m")
    await wait_for(pilot, lambda: "migration failed" in log_text(app), timeout=30)
    await wait_for(pilot, lambda: "RESUMING" in pane_text(app, "destination"))
    await pilot.press("p")


async def read_only(pilot: Pilot[int], app: VfioTuiApp) -> None:
    await pilot.press("p", "s")


async def diff(pilot: Pilot[int], app: VfioTuiApp) -> None:
    await pilot.press("m")
    await wait_for(pilot, lambda: "migration succeeded" in log_text(app), timeout=30)
    await wait_for(pilot, lambda: len(app.session.captures.list()) >= 2)
    await pilot.press("p", "d")
    await pilot.pause(1.0)


async def main() -> None:
    if shutil.which("rsvg-convert") is None:
        sys.exit("rsvg-convert is missing: apt-get install librsvg2-bin")
    await shoot("main-migrating", during_migration)
    await shoot("help", help_screen)
    await shoot("failed-migration", failed_migration, scenario="match-mismatch")
    await shoot("read-only", read_only, read_only=True)
    await shoot("diff-corrupt-transfer", diff, scenario="corrupt-transfer")


if __name__ == "__main__":
    asyncio.run(main())
