"""The verdict in the live view: its line, its screen, and what it adds to the timeline."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RichLog

from sim.pace import Pace
from tests.ui.helpers import DEV, Lockstep, attached, make_app, screen_text, wait_for
from vfio_tui.model.states import MigrationState
from vfio_tui.model.verdict import Cause, Evidence, Outcome, Phases, Verdict, Where
from vfio_tui.ui.app import VfioTuiApp
from vfio_tui.ui.screens.help import HelpScreen
from vfio_tui.ui.screens.verdict import VerdictScreen, verdict_body
from vfio_tui.ui.widgets.pane import DevicePane
from vfio_tui.ui.widgets.verdict import headline


def verdict_line(app: VfioTuiApp) -> str:
    """The verdict row as drawn on the screen (one row, between the panes and the timeline)."""
    region = app._main.query_one("#verdict").region
    assert region.height == 1
    return screen_text(app).splitlines()[region.y]


def timeline_text(app: VfioTuiApp) -> str:
    log = app._main.query_one("#timeline", RichLog)
    return "\n".join(strip.text for strip in log.lines)


async def test_clean_migration_line_says_succeeded_with_phases_in_monochrome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path, pace=Lockstep())  # in step with the polls: they see PRE_COPY
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await wait_for(pilot, lambda: "NOT-STARTED" in verdict_line(app), what="not started")
        await pilot.press("m")
        await wait_for(
            pilot, lambda: "✓ SUCCEEDED · total" in verdict_line(app), what="succeeded line"
        )
        line = verdict_line(app)
        assert "pre-copy" in line  # the phases, in words
        assert len(line.rstrip()) <= 80 and line.rstrip().endswith("…")  # one row, cut short
        assert "succeeded, total" in timeline_text(app)


async def test_match_mismatch_line_screen_and_timeline(tmp_path: Path) -> None:
    app = make_app(tmp_path, DEV, pace=Lockstep(), scenario="match-mismatch")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(
            pilot,
            lambda: "✗ FAILED cause: match-mismatch" in verdict_line(app),
            what="the failed line with its cause",
        )
        assert "destination RESUMING → STOP" in verdict_line(app)
        await wait_for(
            pilot,
            lambda: "✗ dst RESUMING → STOP refused: match-mismatch" in timeline_text(app),
            what="the refused transition in the timeline",
        )

        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        text = screen_text(app)
        for wanted in (
            "✗ FAILED",
            "cause: match-mismatch",
            "where: destination RESUMING → STOP, at",
            "Evidence",
            "destination stays in RESUMING since",
            "from timeline: destination `state` read at",
            "the destination received",
            "from file: destination hisi_acc/migf_data read at",
            "Next steps",
            "press d: compare the match header",
            "Phases",
        ):
            assert wanted in text, wanted
        # Keyboard only: the body scrolls, and the main screen's keys do nothing here.
        body = app.screen.query_one("#verdict-body")
        assert app.focused is body
        await pilot.press("m")
        assert isinstance(app.screen, VerdictScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.focused, DevicePane), what="back, by Escape")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        await pilot.press("q")  # q closes the verdict, it does not quit the app
        await wait_for(pilot, lambda: isinstance(app.focused, DevicePane), what="back, by q")
        assert app.return_code is None


async def test_verdict_screen_scrolls_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path, DEV, pace=Lockstep(), scenario="match-mismatch")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "FAILED" in verdict_line(app), what="failed")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        assert "Phases" not in screen_text(app)  # below the fold at 80x24
        footer = screen_text(app).splitlines()[-1]
        assert footer.count("Palette") == 1, footer  # the palette's key, once
        await pilot.press("end")
        await wait_for(pilot, lambda: "Phases" in screen_text(app), what="scrolled to phases")


class HeldPreCopy(Pace):
    """Instant, except that the source's PRE_COPY lasts until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(arc=0.0, phase=0.0)
        object.__setattr__(self, "release", asyncio.Event())
        object.__setattr__(self, "in_pre_copy", lambda: False)

    async def sleep_arc(self) -> None:
        return

    async def sleep_phase(self, phases: float = 1.0) -> None:
        if self.in_pre_copy():  # type: ignore[attr-defined]
            await self.release.wait()  # type: ignore[attr-defined]


async def test_a_missed_stop_copy_is_shown_as_inferred(tmp_path: Path) -> None:
    # Polling stops while the source is in PRE_COPY and resumes once the migration is over:
    # the readings go PRE_COPY -> STOP, so STOP_COPY was there but never seen.
    pace = HeldPreCopy()
    app = make_app(tmp_path, pace=pace)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        pair = app.session.world.pair
        src, dst = pair.src.device(DEV), pair.dst.device(DEV)
        object.__setattr__(pace, "in_pre_copy", lambda: src.state is MigrationState.PRE_COPY)
        await pilot.press("m")
        await wait_for(
            pilot, lambda: app.session.timeline.last("source") == "PRE_COPY", what="PRE_COPY"
        )
        inflight = [0]  # polls started and not yet done: one could still see STOP_COPY
        poll = app.session.poll

        async def counted(name: str) -> Any:
            inflight[0] += 1
            try:
                return await poll(name)
            finally:
                inflight[0] -= 1

        app.session.poll = counted  # type: ignore[method-assign]
        await pilot.press("p")
        await wait_for(pilot, lambda: app.paused and inflight[0] == 0, what="polling paused")
        pace.release.set()  # type: ignore[attr-defined]
        await wait_for(
            pilot,
            lambda: src.state is MigrationState.STOP and dst.state is MigrationState.RUNNING,
            what="the migration ends while nobody looks",
        )
        await pilot.press("p")
        await wait_for(pilot, lambda: "SUCCEEDED" in verdict_line(app), what="succeeded")
        timeline = timeline_text(app)
        assert "src STOP_COPY (inferred: not seen, implied by PRE_COPY → STOP)" in timeline
        assert "dst STOP (inferred: not seen, implied by RESUMING → RUNNING)" in timeline
        # In order: the inferred state comes before the reading that implies it.
        stop = re.search(r"src STOP$", timeline, re.MULTILINE)
        assert stop is not None and timeline.index("src STOP_COPY (inferred") < stop.start()
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        text = " ".join(screen_text(app).split())
        assert "(inferred: the vm-stop boundary was not seen, but implied)" in text
        assert "inferred state (not seen): source STOP_COPY" in text


async def test_verdict_key_is_in_help_and_palette_and_remappable(tmp_path: Path) -> None:
    # In lockstep with the polls, so every phase is seen and the total is known.
    app = make_app(tmp_path, pace=Lockstep(), keymap={"verdict": "V"})
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Verdict" in commands
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert re.search(r"\bV +Verdict +verdict\b", text), "the remapped key, its words, its id"
        app.screen.query_one("#help-body").scroll_end(animate=False)
        await wait_for(
            pilot, lambda: "✗ FAILED  ⧖ STUCK" in screen_text(app), what="the line's marks"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.focused, DevicePane))
        await pilot.press("V")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="remapped key")
        assert "NOT-STARTED" in screen_text(app)
        # The open screen follows the verdict (m is the main screen's key: run it directly).
        app.action_migrate()
        await wait_for(
            pilot,
            lambda: "Verdict: ✓ SUCCEEDED" in screen_text(app) and "total" in screen_text(app),
            what="the screen follows, to the succeeded verdict and its total",
        )


async def test_the_verdict_is_judged_only_when_a_poll_brings_a_new_fact(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await wait_for(pilot, lambda: app.verdict is not None, what="a first verdict")
        session = app.session
        judged, polled = [], []
        verdict, poll = session.verdict, session.poll

        def counting_verdict(*args: Any) -> Any:
            judged.append(1)
            return verdict(*args)

        async def counting_poll(name: str) -> Any:
            polled.append(name)
            return await poll(name)

        session.verdict = counting_verdict  # type: ignore[method-assign]
        session.poll = counting_poll  # type: ignore[method-assign]
        await wait_for(pilot, lambda: len(polled) >= 20, what="twenty quiet polls")
        assert judged == []  # nothing changed: the verdict stands as it was
        await pilot.press("m")
        await wait_for(pilot, lambda: "SUCCEEDED" in verdict_line(app), what="succeeded")
        assert 0 < len(judged) <= len(polled)


def test_host_text_in_a_verdict_is_escaped_never_markup() -> None:
    hostile = "\x1b]0;owned\x07 [bold red]x[/]"
    verdict = Verdict(
        Outcome.UNKNOWN,
        Cause.STATE_UNREADABLE,
        Where("source", file=f"hisi_acc/{hostile}", at=1.0),
        f"the source `state` file cannot be read: {hostile}",
        (Evidence(f"source state unreadable: {hostile}", ()),),
        (),
        Phases(),
    )
    for text in (headline(verdict), verdict_body(verdict)):
        assert "\x1b" not in text.plain and "\x07" not in text.plain
        assert "\\x1b]0;owned\\x07 [bold red]x[/]" in text.plain  # shown as written, escaped
