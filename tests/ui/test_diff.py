"""The diff screen, driven through the real app: identical, corrupted, refused, large."""

from __future__ import annotations

import os
import random
from pathlib import Path

from textual.widgets import Input

from sim.pair import HISI_2023_DEVICE
from tests.fixtures.captures import add_capture
from tests.ui.helpers import (
    Lockstep,
    attached,
    flat,
    log_text,
    make_app,
    notified,
    pane_text,
    screen_text,
    wait_for,
)
from vfio_tui.services.captures import CaptureStore
from vfio_tui.services.session import ACTION_COOLDOWN, Action
from vfio_tui.ui.app import VfioTuiApp
from vfio_tui.ui.screens.diff import DiffScreen, OffsetScreen
from vfio_tui.ui.widgets.hexdiff import HexDiffView


async def migrated(pilot, app, captures: int = 2) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: attached(app))
    await pilot.press("m")
    await wait_for(
        pilot,
        lambda: (
            "migration" in log_text(app)
            and ("succeeded" in log_text(app) or "failed" in log_text(app))
        ),
    )
    await wait_for(pilot, lambda: len(app.session.captures.list()) >= captures)


async def test_clean_migration_is_identical(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: "sha256" in flat(app), what="verdict with hashes")
        text = flat(app)
        assert text.startswith("identical")
        assert (
            "A: source hisi_acc/migf_data" in text and "B: destination hisi_acc/migf_data" in text
        )
        assert "states: source STOP" in text  # when and where each was taken
        assert "≠" not in text


async def test_corrupt_transfer_shows_bytes_and_fields(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="corrupt-transfer")
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: "3 bytes differ in 3 ranges" in flat(app))
        text = flat(app)
        assert "first difference at offset 0x44 (68)" in text
        assert "≠ 40 qm_eqc_dw" in text and "device register state differs" in text
        await pilot.press("v")  # the bytes, side by side
        await wait_for(pilot, lambda: "identical rows folded" in flat(app))
        rows = [line for line in screen_text(app).splitlines() if " ≠ " in line]
        assert [row.split()[0] for row in rows] == ["00000040", "00000060", "00000070"]
        assert "BF" in rows[0] and "E5" in rows[0]  # the differing byte, in capitals
        view = app.screen.query_one(HexDiffView)
        assert view.current_row == 4  # the first difference is marked
        await pilot.press("n")
        assert view.current_row == 6
        await pilot.press("n", "n")
        assert view.current_row == 7
        await wait_for(pilot, lambda: "no further difference" in notified(app))
        await pilot.press("N")
        assert view.current_row == 6
        await pilot.press("e")
        exported = list(app.session.captures.directory.glob("diff-*.txt"))
        assert len(exported) == 1
        body = exported[0].read_text()
        assert body.startswith("3 bytes differ in 3 ranges")
        assert "qm_eqc_dw" in body and "69 " in body  # field table, then the cmp -l list


async def test_match_mismatch_names_the_field_and_the_refusal(tmp_path: Path) -> None:
    def saving_destination() -> bool:
        """The migration waits while the destination is RESUMING and not yet saved."""
        snapshot = app.session.sides["destination"].snapshot
        saved = any(
            c.side == "destination" and c.reason == "save" for c in app.session.captures.list()
        )
        return snapshot is not None and snapshot.state_name == "RESUMING" and not saved

    app = make_app(
        tmp_path,
        HISI_2023_DEVICE,
        scenario="match-mismatch",
        pace=Lockstep(hold=saving_destination),
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        # While the destination QEMU has its VF open and waits for data, ask the
        # destination what VF it is: a save on the 2023 layout.
        await wait_for(pilot, lambda: "RESUMING" in pane_text(app, "destination"))
        await pilot.press("tab", "s")
        await wait_for(pilot, lambda: "successful to save" in log_text(app))
        await wait_for(pilot, lambda: "migration failed" in log_text(app))
        await wait_for(pilot, lambda: len(app.session.captures.list()) >= 3)
        await pilot.press("p")  # pause polling: no new capture may shift the picker's rows
        await pilot.pause(0.3)  # (a poll already in flight lands first)
        captures = app.session.captures.list()
        saved = next(c for c in captures if c.side == "destination" and c.reason == "save")
        source = [c for c in captures if c.side == "source"][-1]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        newest_first = list(reversed(captures))
        await pilot.press("c")  # choose: the source's data against the destination's own
        await pilot.press(*["down"] * newest_first.index(source), "enter")
        await pilot.press(*["down"] * newest_first.index(saved), "enter")
        await wait_for(pilot, lambda: "dev_id differs" in flat(app))
        text = flat(app)
        assert "dev_id differs (SEC VF vs HPRE VF): the destination would refuse to load" in text


async def open_offset_dialog(pilot, app: VfioTuiApp) -> None:  # type: ignore[no-untyped-def]
    """After a corrupted transfer: the diff, then `g`, until its entry has the focus (a
    screen is pushed before it is composed, so its screen alone is not enough)."""
    await migrated(pilot, app)
    await pilot.press("d")
    await wait_for(pilot, lambda: "bytes differ" in flat(app))
    await pilot.press("g")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, OffsetScreen) and isinstance(app.focused, Input),
        what="the offset entry focused",
    )


async def test_goto_and_choose(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="corrupt-transfer")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_offset_dialog(pilot, app)
        await pilot.press(*"0x60", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        assert app.screen.query_one(HexDiffView).current_row == 6
        await pilot.press("c")  # any two captures: the source against itself
        await pilot.press("enter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: flat(app).startswith("identical"))


async def test_large_captures_diff_without_blocking_the_keys(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path / "captures")
    size = 48 << 20
    rng = random.Random(3)
    a = os.urandom(size)
    b = bytearray(a)
    spots = sorted(rng.sample(range(size), 50))
    for spot in spots:
        b[spot] ^= 0x01
    first = add_capture(store, "source", a, file="big", kind="raw", reason="kept")
    second = add_capture(store, "destination", bytes(b), file="big", kind="raw", reason="kept")
    del a, b
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        screen = DiffScreen(store, first, second)
        await app.push_screen(screen)
        await pilot.press("v")  # keys answer at once, even while comparing
        await wait_for(pilot, lambda: "50 bytes differ in 50 ranges" in flat(app), timeout=60)
        view = screen.query_one(HexDiffView)
        assert view.current_row == spots[0] // 16
        for spot in spots[1:4]:
            await pilot.press("n")
            assert view.current_row == spot // 16
        assert f"{(spots[1] // 16) * 16:08x}" in screen_text(app)


async def test_each_identical_stretch_is_folded_to_one_line(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: "sha256" in flat(app))
        await pilot.press("v")
        await wait_for(pilot, lambda: "identical rows folded" in flat(app))
        assert flat(app).count("identical rows folded") == 1  # not one per empty screen line


async def test_dev_data_saves_are_compared_field_by_field(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("s")  # the source's dev_data, twice: its match header is zero
        await wait_for(pilot, lambda: len(app.session.captures.list()) == 1)
        source = app.session.sides["source"]
        await wait_for(  # past the key-repeat guard: a second, deliberate save
            pilot,
            lambda: app.clock() - source.finished_at[Action.SAVE] > ACTION_COOLDOWN,
        )
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.session.captures.list()) == 2)
        await pilot.press("d", "c", "enter", "down", "enter")
        await wait_for(pilot, lambda: "identical" in flat(app) and "vf_qm_state" in flat(app))
        assert "no known layout" not in flat(app)


async def test_the_offset_dialog_explains_itself(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="corrupt-transfer")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_offset_dialog(pilot, app)
        dialog = app.screen.query_one("#dialog")
        assert dialog.region.y > 2  # centred, not over the diff's header
        await pilot.press("enter")  # nothing typed: says what to type, stays open
        await wait_for(pilot, lambda: "type an offset first" in notified(app))
        assert isinstance(app.screen, OffsetScreen)
