"""Every binding of the live view, driven through the real app with Pilot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import RichLog

from sim.pair import HISI_2023_DEVICE, MTTY_DEVICE
from tests.ui.helpers import (
    DEV,
    Lockstep,
    attached,
    log_text,
    make_app,
    notified,
    pane_text,
    screen_text,
    shows,
    wait_for,
)
from vfio_tui.ui.screens.dialogs import PickerScreen
from vfio_tui.ui.screens.diff import DiffScreen
from vfio_tui.ui.screens.help import HelpScreen
from vfio_tui.ui.widgets.pane import DevicePane


async def test_first_screen_shows_both_sides(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app), what="both panes attached")
        await shows(
            pilot,
            app,
            "source",
            "SOURCE sim-src",
            DEV,
            "hisi_acc 6.13",
            "▶ RUNNING",
            "connected",
            "EAGAIN",
            "no migration",
        )  # migf_data before any migration
        await shows(pilot, app, "destination", "✗ ERROR", "until the VF is first opened")


async def test_tab_and_shift_tab_move_between_panes_timeline_and_log(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        timeline, log = app._main.query_one("#timeline"), app._main.query_one("#log")
        assert app.focused is app.pane("source")
        await pilot.press("tab")
        assert app.focused is app.pane("destination")
        await pilot.press("tab")
        assert app.focused is timeline
        await pilot.press("s")  # acts on the pane last in focus: the destination
        await wait_for(pilot, lambda: "EINVAL" in log_text(app))
        await pilot.press("tab")
        assert app.focused is log
        await pilot.press("tab")
        assert app.focused is app.pane("source")
        await pilot.press("shift+tab")
        assert app.focused is log


async def test_the_log_grows_and_scrolls_back_to_its_first_entry(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "migration succeeded" in log_text(app))
        log = app._main.query_one("#log", RichLog)
        # every line is an entry's start (its time) or an indented continuation of one
        lines = [strip.text for strip in log.lines if strip.text.strip()]
        assert all(re.match(r"\d\d:\d\d:\d\d |    \S", line) for line in lines), lines
        assert any(line.startswith("    ") for line in lines)  # 120 columns: some wrap
        small = log.region.height
        await pilot.press("z")
        await wait_for(pilot, lambda: log.region.height > small * 2, what="a taller log")
        await pilot.press("shift+tab")  # the log, without a mouse
        assert app.focused is log
        await pilot.press("home")
        await wait_for(pilot, lambda: "captures go to" in screen_text(app), what="the first entry")
        await pilot.press("z")
        await wait_for(pilot, lambda: log.region.height == small)


async def test_migrate_key_runs_a_migration_to_its_end(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep())  # every step is polled, however busy the machine
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "■ STOP" in pane_text(app, "source"), what="source STOP")
        await wait_for(pilot, lambda: "▶ RUNNING" in pane_text(app, "destination"))
        seen = [(e.side, e.state) for e in app.session.timeline.events]
        assert ("source", "STOP_COPY") in seen and ("destination", "RESUMING") in seen
        assert seen.index(("source", "PRE_COPY")) < seen.index(("source", "STOP_COPY"))
        assert "src STOP" in screen_text(app)  # the timeline pane shows the latest events
        assert "migration succeeded" in log_text(app)
        # Both sides' migf_data were kept as captures, with the same bytes.
        await wait_for(pilot, lambda: len(app.session.captures.list()) >= 2)
        kept = {c.side: c.data() for c in app.session.captures.list()}
        assert kept["source"] == kept["destination"] and len(kept["source"]) == 144


async def test_save_keeps_a_capture_of_the_focused_side(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("s")  # source: the VF is open, so dev_data reads
        await wait_for(pilot, lambda: "kept as" in log_text(app), what="save logged")
        (capture,) = app.session.captures.list()
        assert (capture.side, capture.file, capture.reason) == (
            "source",
            "hisi_acc/dev_data",
            "save",
        )
        assert capture.text() is not None and capture.text().startswith("Dev Data:")  # type: ignore[union-attr]
        assert "dev_data" in pane_text(app, "source") and "live registers" in pane_text(
            app, "source"
        )
        await pilot.press("tab", "s")  # destination: never opened, dev_data fails
        await wait_for(pilot, lambda: "EINVAL" in log_text(app))
        assert "not opened" in pane_text(app, "destination")


async def test_keep_keeps_the_focused_sides_data_as_it_is_now(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("k")  # before any migration migf_data fails (EAGAIN): nothing to keep
        await wait_for(pilot, lambda: "nothing to keep: migf_data" in notified(app))
        assert "(EAGAIN: no migration has completed" in notified(app)  # the errno, in words
        await pilot.press("s")  # dev_data now on screen: the message must not deny it
        await wait_for(pilot, lambda: app.pane("source").shows_saved_dev_data)
        await pilot.press("k")
        await wait_for(pilot, lambda: "the dev_data shown was kept" in notified(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: len(app.session.captures.list()) >= 2)
        await wait_for(pilot, lambda: "migration succeeded" in log_text(app))
        await pilot.press("k")
        await wait_for(pilot, lambda: any(c.reason == "kept" for c in app.session.captures.list()))
        kept = [c for c in app.session.captures.list() if c.reason == "kept"]
        assert [(c.side, c.file) for c in kept] == [("source", "hisi_acc/migf_data")]
        assert f"as {kept[0].id}" in log_text(app)


async def test_no_app_key_is_shadowed_by_a_focused_pane(tmp_path: Path) -> None:
    """A pane's own keys (scrolling) must not swallow the app's: focus is always on a pane."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        pane = app.query_one("#source", DevicePane)
        shadowed = set(pane._bindings.key_to_bindings) & set(app._bindings.key_to_bindings)
        assert shadowed == set()


async def test_save_both_and_io_test_on_the_2023_layout(tmp_path: Path) -> None:
    app = make_app(tmp_path, HISI_2023_DEVICE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await shows(pilot, app, "source", "device not migrated!")
        await pilot.press("S")
        await wait_for(pilot, lambda: "device not opened!" in log_text(app))
        await wait_for(pilot, lambda: "successful to save device data!" in log_text(app))
        await wait_for(
            pilot,
            lambda: "acc_magic" in pane_text(app, "source"),
            what="the saved data decoded in the source pane",
        )
        await pilot.press("i")
        await wait_for(pilot, lambda: "mailbox 0x0 (ready)" in pane_text(app, "source"))


async def test_a_key_repeat_does_not_fire_an_action_twice(tmp_path: Path) -> None:
    # The session's clock stands still, as it does between the presses of a key repeat,
    # whatever the load on this machine.
    app = make_app(tmp_path, clock=lambda: 100.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("s", "s", "s")
        await wait_for(
            pilot, lambda: "ignored" in log_text(app) or "still running" in log_text(app)
        )
        await pilot.pause(0.3)
        assert len(app.session.captures.list()) == 1


async def test_pause_poll_now_and_interval(tmp_path: Path) -> None:
    app = make_app(tmp_path, interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("p")
        assert "PAUSED" in screen_text(app)
        taken = app.session.sides["source"].snapshot.taken_at  # type: ignore[union-attr]
        await pilot.pause(0.8)
        assert app.session.sides["source"].snapshot.taken_at == taken  # type: ignore[union-attr]
        await pilot.press("r")  # poll now also resumes
        await wait_for(pilot, lambda: app.session.sides["source"].snapshot.taken_at != taken)  # type: ignore[union-attr]
        assert "PAUSED" not in screen_text(app)
        await pilot.press("minus")
        assert "poll 0.2 s" in screen_text(app)
        await pilot.press("plus", "plus")
        assert "poll 1 s" in screen_text(app)


async def test_fault_picker_then_migrate(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("down", "enter")  # the second fault: match-mismatch
        await wait_for(pilot, lambda: "next fault: match-mismatch" in screen_text(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "RESUMING" in pane_text(app, "destination"))
        await wait_for(pilot, lambda: "▶ RUNNING" in pane_text(app, "source"))


async def test_help_lists_every_binding_with_its_id(tmp_path: Path) -> None:
    app = make_app(tmp_path, keymap={"save": "w"})
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        for binding_id in (
            "save",
            "save-both",
            "io-test",
            "diff",
            "pause",
            "poll-now",
            "interval-longer",
            "interval-shorter",
            "migrate",
            "pick-fault",
            "help",
            "quit",
            "next-pane",
            "prev-pane",
        ):
            assert binding_id in text
        assert "w " in text  # the remapped key is what help shows
        assert "id (for [keymap])" in text  # brackets shown, not eaten as markup
        assert "question_mark" not in text and "plus" not in text.split()
        shown = {keys: binding_id for keys, _, binding_id, _ in app.screen.keys}  # type: ignore[attr-defined]
        assert shown["?"] == "help" and shown["+"] == "interval-longer"
        assert shown["^p"] == "palette" and shown["n"] == "diff-next"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("w")  # remapped from the config's keymap
        await wait_for(pilot, lambda: "kept as" in log_text(app))


async def test_diff_key_opens_the_diff_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        assert "no captures of both sides yet" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.focused, DevicePane))


async def test_quit(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


async def test_mtty_pane_has_no_driver_files(tmp_path: Path) -> None:
    app = make_app(tmp_path, MTTY_DEVICE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await shows(
            pilot, app, "source", "core", "[x]p2p", "[x]dirty-tracking", "shows no migration data"
        )
        await pilot.press("s")
        await wait_for(pilot, lambda: "has no driver files" in log_text(app))


async def test_no_color_keeps_every_state_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path, theme="ansi-dark")
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await shows(pilot, app, "source", "▶ RUNNING", "[x]stop-copy")
        await shows(pilot, app, "destination", "✗ ERROR")


async def test_every_binding_is_in_the_command_palette(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        for typed, found in (("sav", "Save both"), ("mig", "Migrate"), ("di", "Diff")):
            await pilot.press("ctrl+p")
            await pilot.press(*typed)
            await wait_for(pilot, lambda f=found: f in screen_text(app), what=f"{found} listed")
            assert "No matches found" not in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app._main)
