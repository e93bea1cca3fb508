"""Read-only mode refuses device actions visibly; every named fault shows its symptom."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.pair import HISI_2023_DEVICE
from sim.scenarios import SCENARIOS
from tests.ui.helpers import (
    DEV,
    Lockstep,
    attached,
    flat,
    log_text,
    make_app,
    notified,
    pane_text,
    screen_text,
    shows,
    wait_for,
)
from vfio_tui.model.formats import parse_data


async def test_read_only_refuses_every_device_action(tmp_path: Path) -> None:
    app = make_app(tmp_path, HISI_2023_DEVICE, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        assert (
            "READ-ONLY" in pane_text(app, "source")
            or "READ-ONLY" in app._main.query_one("#topbar").render().plain
        )  # type: ignore[attr-defined]
        # disabled keys are marked in text, not by colour alone
        await wait_for(pilot, lambda: "✗Save" in screen_text(app).splitlines()[-1])
        for key, word in (("s", "Save"), ("S", "Save both"), ("i", "IO test"), ("m", "Migrate")):
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda w=word: f"read-only mode: {w} refused" in log_text(app),
                what=f"{key} refused",
            )
        await pilot.pause(0.2)
        assert app.session.captures.list() == []
        # The device was never touched: the 2023 `save` did not run.
        device = app.session.world.pair.src.device(HISI_2023_DEVICE)
        assert parse_data(await device.read_file("hisi_acc/data")).dump is None
        assert not app.session.world.pair.running  # no migration started


SYMPTOMS: dict[str, tuple[str, list[str], list[str]]] = {
    # fault: (device, in the source pane, in the destination pane)
    "clean": (DEV, ["■ STOP"], ["▶ RUNNING"]),
    "match-mismatch": (DEV, ["▶ RUNNING"], ["↓ RESUMING"]),
    "hung-save": (DEV, ["BLOCKED", "last seen STOP_COPY"], ["↓ RESUMING"]),
    "mailbox-not-ready": (HISI_2023_DEVICE, ["▶ RUNNING"], ["↓ RESUMING"]),
    "guest-driver-not-loaded": (DEV, ["■ STOP", "match data only"], ["match data only"]),
    "corrupt-transfer": (DEV, ["■ STOP"], ["▶ RUNNING"]),
    "device-unplug": (DEV, ["UNREADABLE", "ENOENT"], ["↓ RESUMING"]),
    "precopy-hang": (DEV, ["BLOCKED"], ["↓ RESUMING"]),
}


def test_every_fault_has_a_symptom_test() -> None:
    assert set(SYMPTOMS) == set(SCENARIOS)


@pytest.mark.parametrize("fault", list(SYMPTOMS))
async def test_fault_shows_its_symptom(tmp_path: Path, fault: str) -> None:
    device, on_source, on_destination = SYMPTOMS[fault]
    # In step with the polls: hung-save shows STOP_COPY before the save hangs.
    app = make_app(tmp_path, device, pace=Lockstep(), scenario=fault)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        for side, wanted in (("source", on_source), ("destination", on_destination)):
            for text in wanted:
                await wait_for(
                    pilot,
                    lambda s=side, t=text: t in pane_text(app, s),
                    what=f"{fault}: {text!r} on the {side}",
                )
        if fault == "mailbox-not-ready":
            await pilot.press("i")
            await wait_for(
                pilot, lambda: "mailbox 0xffffffff (NOT READY)" in pane_text(app, "source")
            )
        if fault == "corrupt-transfer":
            await pilot.press("d")
            await wait_for(pilot, lambda: "3 bytes differ" in flat(app))


async def test_an_unwritable_capture_directory_is_said_once_and_nothing_stops(
    tmp_path: Path,
) -> None:
    (tmp_path / "blocked").write_text("a file where the capture directory's parent should be")
    app = make_app(tmp_path / "blocked")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        # The migration still runs to its end and both panes keep updating.
        await shows(pilot, app, "destination", "▶ RUNNING")
        await shows(pilot, app, "source", "■ STOP")
        await wait_for(pilot, lambda: app.session.capture_failures >= 2, what="two refusals")
        problem = "captures cannot be written to"
        assert log_text(app).count(problem) == 1  # said once, not on every poll
        assert "Not a directory" in log_text(app)
        assert problem in notified(app)
        await pilot.press("k")  # asked for by the person: said again
        await wait_for(pilot, lambda: log_text(app).count(problem) == 2, what="keep refused")


async def test_no_explanation_contradicts_the_facts_on_screen(tmp_path: Path) -> None:
    # mailbox-not-ready: pre-copy sent the 40-byte match data, then the device could
    # not be stopped. The guest driver is loaded (vf_qm_state 0): nothing may say otherwise.
    app = make_app(tmp_path, HISI_2023_DEVICE, pace=Lockstep(), scenario="mailbox-not-ready")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: "migration failed" in log_text(app))
        for side in ("source", "destination"):
            await shows(pilot, app, side, "stopped after pre-copy", "guest driver loaded")
            assert "was not loaded" not in pane_text(app, side)
            assert "i reads the mailbox" in pane_text(app, side)
        await pilot.press("i")  # and the mailbox reading is one key away
        await shows(pilot, app, "source", "mailbox 0xffffffff (NOT READY)")


async def test_an_unbound_device_says_so_and_the_link_line_agrees(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep(), scenario="device-unplug")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await shows(pilot, app, "source", "UNREADABLE", "unbound from its driver")
        source = pane_text(app, "source")
        assert "state unreadable" in source and "last read just now" not in source
        await shows(pilot, app, "destination", "stopped after pre-copy")
        assert "was not loaded" not in pane_text(app, "destination")


async def test_a_blocked_state_is_never_beside_last_read_just_now(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep(), scenario="hung-save")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("m")
        await shows(pilot, app, "source", "BLOCKED", "state read blocked")
        await shows(pilot, app, "source", "STALE")  # no good read for three polls
        assert "last read just now" not in pane_text(app, "source")


async def test_an_old_action_result_says_the_state_has_moved_on(tmp_path: Path) -> None:
    app = make_app(tmp_path, pace=Lockstep())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("tab", "s")  # destination: never opened, dev_data fails
        await shows(pilot, app, "destination", "EINVAL")
        assert "older than what is shown" not in pane_text(app, "destination")
        await pilot.press("m")
        await shows(pilot, app, "destination", "▶ RUNNING")
        await shows(pilot, app, "destination", "when the state was ERROR: older than what is shown")
