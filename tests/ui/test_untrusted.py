"""Text from a host or a user reaches the screen escaped, and is never markup.

Device names, file contents, remote stderr and paths are the host's or the
user's: an escape sequence in them must not reach the terminal, and `[...]` in
them must not be parsed as Textual markup (a `[@click=app.quit]` link, or a
stray `[/]` that ends the app with MarkupError).
"""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import Static

from sim.sshserver import write_known_hosts
from tests.ui.helpers import (
    DEV,
    attached,
    log_text,
    make_app,
    notified,
    pane_text,
    screen_text,
    wait_for,
)
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.hostkeys import known_hosts_line
from vfio_tui.ui.screens.dialogs import HostKeyScreen, PickerScreen

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title when written raw
LINK = "[@click=app.quit]y"  # a clickable "y" that quits, if parsed as markup


def controls(text: str) -> list[str]:
    """The control and format characters on the screen (none may be there)."""
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]


def tree(root: Path, devices: dict[str, tuple[bytes, bytes]]) -> Path:
    """A debugfs root with these devices: name -> (state, features) file contents."""
    for name, (state, features) in devices.items():
        base = root / "vfio" / name / "migration"
        base.mkdir(parents=True)
        (base / "state").write_bytes(state)
        (base / "features").write_bytes(features)
    return root


async def test_hostile_device_names_are_refused_and_named_escaped(tmp_path: Path) -> None:
    # Names that are no device name the kernel gives are refused by the walk; the
    # pane says so, quoting them escaped, and nothing in them is acted on.
    root = tree(
        tmp_path / "debug",
        {TITLE: (b"RUNNING\n", b"stop-copy\n"), LINK: (b"RUNNING\n", b"stop-copy\n")},
    )
    app = make_app(tmp_path, source=f"local://{root}", destination=f"sim://dst#{DEV}")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot, lambda: "[@click=app.quit]y" in screen_text(app), what="the name, as it is"
        )
        text = screen_text(app)
        assert "\\x1b]0;pwned\\x07" in text  # escaped, not acted on
        assert controls(text) == []
        assert app.is_running and app.return_code is None  # the link quit nothing


async def test_hostile_contents_are_shown_escaped(tmp_path: Path) -> None:
    sane = "0000:00:01.0"
    root = tree(
        tmp_path / "debug",
        {sane: (b"RUN\x1b[2J\x1b[HNING [/] [b]\n", b"[@click=app.quit]x\x1b[2J\n")},
    )
    app = make_app(tmp_path, source=f"local://{root}", destination=f"sim://dst#{DEV}")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot, lambda: "UNRECOGNISED STATE" in pane_text(app, "source"), what="its state"
        )
        # The file's text, as it is (the pane may draw it a frame after the state).
        await wait_for(
            pilot,
            lambda: "\\x1b[2J" in screen_text(app) and "[/] [b]" in screen_text(app),
            what="the state file's text, escaped and not markup",
        )
        text = screen_text(app)
        assert controls(text) == []
        assert app.is_running and app.return_code is None  # the link quit nothing


@contextlib.asynccontextmanager
async def stderr_server(stderr: bytes) -> AsyncIterator[tuple[int, asyncssh.SSHKey]]:
    """An SSH server whose shell prints `stderr`, then fails: (its port, its host key)."""
    key = asyncssh.generate_private_key("ssh-ed25519")

    async def shell(process: asyncssh.SSHServerProcess[bytes]) -> None:
        process.stderr.write(stderr)
        process.exit(1)

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return False

    server = await asyncssh.create_server(
        Server, "127.0.0.1", 0, server_host_keys=[key], process_factory=shell, encoding=None
    )
    try:
        yield int(server.get_port()), key
    finally:
        server.close()


@pytest.fixture
async def grumpy_server() -> AsyncIterator[tuple[int, asyncssh.SSHKey]]:
    """A server whose shell prints markup and an escape on stderr, then fails."""
    async with stderr_server(b"[/] remote says no \x1b]0;pwned\x07\n") as server:
        yield server


async def test_remote_stderr_is_shown_escaped_and_not_as_markup(
    tmp_path: Path, grumpy_server: tuple[int, asyncssh.SSHKey]
) -> None:
    port, key = grumpy_server
    known = tmp_path / "known_hosts"
    write_known_hosts(
        str(known), [known_hosts_line("127.0.0.1", port, key.export_public_key("openssh"))]
    )
    app = make_app(
        tmp_path,
        source=f"ssh://demo@127.0.0.1:{port}#{DEV}",
        destination=f"sim://dst#{DEV}",
        options=TransportOptions(known_hosts=str(known), read_timeout=0.3),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "[/] remote says no" in log_text(app), what="the stderr")
        assert "\\x1b]0;pwned\\x07" in log_text(app)
        assert controls(screen_text(app)) == []
        assert app.is_running


async def test_paths_with_markup_in_the_host_key_dialog_and_notifications(
    tmp_path: Path, grumpy_server: tuple[int, asyncssh.SSHKey]
) -> None:
    port, _key = grumpy_server
    odd = tmp_path / "[@click=app.quit]x [" / "] [b"  # the path holds "[/]"
    odd.mkdir(parents=True)
    (odd / "captures").write_text("a file where the capture directory's parent should be")
    app = make_app(
        odd,  # --capture-dir under it: it cannot be written, which a notification says
        source=f"ssh://demo@127.0.0.1:{port}#{DEV}",
        options=TransportOptions(known_hosts=str(odd / "known_hosts"), read_timeout=0.3),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        shown = f"known_hosts: {odd}/known_hosts"

        def dialog_text() -> list[str]:
            if not isinstance(app.screen, HostKeyScreen):
                return []
            return [static.render().plain for static in app.screen.query(Static)]  # type: ignore[attr-defined]

        # The dialog is pushed before it is composed: wait for its text, not its screen.
        # The path as it is: no markup eaten, nothing clickable.
        await wait_for(pilot, lambda: shown in dialog_text(), what="the path in the dialog")
        assert controls(screen_text(app)) == []
        await pilot.press("o")
        await wait_for(pilot, lambda: not isinstance(app.screen, HostKeyScreen))
        assert app.is_running
    app = make_app(odd)  # the simulated pair; its --capture-dir cannot be written
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        await pilot.press("s")  # the source's dev_data: a capture that cannot be written
        await wait_for(pilot, lambda: "captures cannot be written" in notified(app))
        assert str(odd) in notified(app)  # the path as it is, in the notification
        assert app.is_running and controls(screen_text(app)) == []


async def show_hostile(tmp_path: Path, name: str, state: bytes, features: bytes) -> None:
    """One hostile device (and a sane one, so the picker opens) through the whole app."""
    root = tree(tmp_path / "debug", {name: (state, features), "sane": (b"STOP\n", b"p2p\n")})
    app = make_app(tmp_path, source=f"local://{root}", destination=f"sim://dst#{DEV}")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PickerScreen) or "watching" in log_text(app),
            what="the picker",
        )
        assert controls(screen_text(app)) == []
        if isinstance(app.screen, PickerScreen):
            wanted = (
                [value for value, _ in app.screen.choices].index(name)
                if name in [value for value, _ in app.screen.choices]
                else 0
            )
            await pilot.press(*["down"] * wanted, "enter")
        await wait_for(pilot, lambda: "watching" in log_text(app) or "refus" in log_text(app))
        await pilot.pause(0.2)  # a poll or two: its contents are on screen
        assert controls(screen_text(app)) == []
        assert app.is_running and app.return_code is None


names = st.text(min_size=1, max_size=40).filter(
    lambda s: (
        "/" not in s
        and "\x00" not in s
        and s not in (".", "..", "sane")
        and len(s.encode("utf-8", "surrogatepass")) < 200
        and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in s)
    )
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=names, state=st.binary(max_size=80), features=st.binary(max_size=80))
def test_any_host_text_leaves_no_control_character_on_screen(
    tmp_path_factory: pytest.TempPathFactory, name: str, state: bytes, features: bytes
) -> None:
    asyncio.run(show_hostile(tmp_path_factory.mktemp("hostile"), name, state, features))


async def show_stderr(tmp_path: Path, stderr: bytes) -> None:
    """A remote shell that prints `stderr` and fails, through the whole app."""
    async with stderr_server(stderr) as (port, key):
        known = tmp_path / "known_hosts"
        line = known_hosts_line("127.0.0.1", port, key.export_public_key("openssh"))
        write_known_hosts(str(known), [line])
        app = make_app(
            tmp_path,
            source=f"ssh://demo@127.0.0.1:{port}#{DEV}",
            destination=f"sim://dst#{DEV}",
            options=TransportOptions(known_hosts=str(known), read_timeout=0.3),
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(
                pilot,
                lambda: "[source]" in log_text(app) and "127.0.0.1" in log_text(app),
                what="the failure logged",
            )
            assert controls(screen_text(app)) == []
            assert app.is_running and app.return_code is None


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stderr=st.binary(max_size=120))
def test_any_remote_stderr_leaves_no_control_character_on_screen(
    tmp_path_factory: pytest.TempPathFactory, stderr: bytes
) -> None:
    asyncio.run(show_stderr(tmp_path_factory.mktemp("stderr"), stderr))
