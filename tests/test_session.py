"""The Session's own guards, without the UI: read-only refuses device actions and migrations.

The UI has a guard of its own (check_action); these tests exercise only the Session, so that
removing the Session's refusal is caught even though the UI would still hide the keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.names import HISI_2023_DEVICE
from sim.pace import Pace
from tests.fixtures.session import make_session
from vfio_tui.model.layout import FileKind
from vfio_tui.services.session import Action, Session


def _session(tmp_path: Path, *, read_only: bool, pace: Pace | None = None) -> Session:
    return make_session(
        tmp_path,
        f"sim://src#{HISI_2023_DEVICE}",
        f"sim://dst#{HISI_2023_DEVICE}",
        pace=pace or Pace.instant(),
        read_only=read_only,
    )


async def _data(session: Session, name: str) -> bytes | None:
    side = session.sides[name]
    assert side.device is not None
    path = FileKind.DATA.path
    return (await side.transport.read_files(side.device, [path]))[path].data


@pytest.mark.parametrize("name", ["source", "destination"])
@pytest.mark.parametrize("action", list(Action))
async def test_read_only_session_refuses_every_action(
    tmp_path: Path, name: str, action: Action
) -> None:
    session = _session(tmp_path, read_only=True)
    try:
        await session.attach(name)
        before = await _data(session, name)
        outcome = await session.act(name, action)
        assert not outcome.done, f"read-only {action.value} on the {name} ran: {outcome}"
        assert outcome.message == f"read-only mode: {action.value} on the {name} refused"
        assert outcome.result is None and outcome.capture is None
        assert session.record.actions == [], "a refused action reached the device"
        assert await _data(session, name) == before, "the device's data changed"
        # The same session, once writable, does run it: the refusal was the guard's doing.
        session.read_only = False
        ran = await session.act(name, action)
        assert ran.done and ran.result is not None, ran.message
        assert [fact.path for fact in session.record.actions] == [
            session.action_file(name, action).path  # type: ignore[union-attr]
        ]
    finally:
        await session.close()


async def test_read_only_session_refuses_a_simulated_migration(tmp_path: Path) -> None:
    # A slow pace: a migration that did start would still be running when we look.
    session = _session(tmp_path, read_only=True, pace=Pace.scaled(0.1))
    notes: list[object] = []
    try:
        await session.attach("source")
        await session.attach("destination")
        said = await session.migrate("clean", notes.append)
        assert said == "read-only mode: migration refused"
        assert notes == [], f"the refused migration narrated: {notes}"
        controls = session.simulator
        assert controls is not None
        # Nothing is running: the simulator accepts a migration of the device now.
        start = await controls.migrate(HISI_2023_DEVICE, "clean")
        assert start.started, f"a migration was already under way: {start.message}"
        assert await controls.wait_until_done(HISI_2023_DEVICE, 60.0)
    finally:
        await session.close()


async def test_writable_session_starts_a_simulated_migration(tmp_path: Path) -> None:
    """The counterpart of the refusal above: the same call starts one when writable."""
    session = _session(tmp_path, read_only=False)
    try:
        await session.attach("source")
        await session.attach("destination")
        said = await session.migrate("clean", lambda note: None)
        assert said.startswith("migrating"), said
        controls = session.simulator
        assert controls is not None
        assert await controls.wait_until_done(HISI_2023_DEVICE, 60.0)
    finally:
        await session.close()
