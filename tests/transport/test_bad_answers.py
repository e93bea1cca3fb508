"""A device name the app refuses, and malformed reader records: a clear, typed error in
the pane (the link status) and a one-line reason from `snapshot`, never a traceback or a
pane that says `connecting` for ever (issue 10)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sim.pair import HISI_MAINLINE_DEVICE, SimPair
from sim.sshserver import ServerFaults, SimSshServer
from tests.fixtures.session import make_session
from tests.transport.helpers import trusting
from vfio_tui.cli import main
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import DeviceChoiceError, HostError, LinkState, TransportOptions
from vfio_tui.transport.local import LocalTransport
from vfio_tui.transport.reader_protocol import b64, emit

DEV = HISI_MAINLINE_DEVICE
HOSTILE = "x\x1b]0;pwned\x07 y"  # a directory name no device has, and vfio-tui refuses


def tree_with(tmp_path: Path, *names: str) -> Path:
    for name in names:
        base = tmp_path / "vfio" / name / "migration"
        base.mkdir(parents=True)
        (base / "state").write_text("RUNNING\n")
    return tmp_path


async def serve(pair: SimPair, faults: ServerFaults, servers: list[SimSshServer]) -> SimSshServer:
    server = SimSshServer(pair.host("src"), faults)
    await server.start()
    servers.append(server)
    return server


async def test_only_device_with_a_refused_name_fails_the_pane_with_the_reason(
    tmp_path: Path,
) -> None:
    root = tree_with(tmp_path, HOSTILE)
    session = make_session(tmp_path / "captures", f"local://{root}", f"sim://dst#{DEV}")
    with pytest.raises(DeviceChoiceError) as caught:
        await session.attach("source")
    assert caught.value.devices == [] and caught.value.refused == [HOSTILE]
    assert HOSTILE in caught.value.message  # raw: escaping happens once, at display
    status = session.sides["source"].transport.status
    assert status.state is LinkState.FAILED  # the pane says why, not `connecting`
    assert "refuses" in status.message and HOSTILE in status.message
    # The app tries again: the status stays failed, it does not flap to `connected`.
    with pytest.raises(DeviceChoiceError):
        await session.attach("source")
    assert session.sides["source"].transport.status.state is LinkState.FAILED
    # A device it can watch appears: it is watched, and the link is connected.
    tree_with(tmp_path, "0000:3b:00.2")
    side = await session.attach("source")
    assert side.device == "0000:3b:00.2"
    assert session.sides["source"].transport.status.state is LinkState.CONNECTED
    await session.close()


async def test_refused_names_are_not_offered_in_the_picker(tmp_path: Path) -> None:
    root = tree_with(tmp_path, HOSTILE, "a", "b")
    local = LocalTransport(parse_host_url(f"local://{root}"), TransportOptions())
    with pytest.raises(DeviceChoiceError) as caught:
        await local.resolve_device(None)
    assert caught.value.devices == ["a", "b"]
    assert "pick one with #DEVICE" in caught.value.message and "refuses 1" in caught.value.message


def test_snapshot_of_a_refused_name_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree_with(tmp_path, HOSTILE)
    code = main(["snapshot", f"local://{root}", f"local://{root}", "--json"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and all("refuses 1 device name" in line for line in lines)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ([emit(None, "D").replace(b"READY", b"{id} D")], "D record with 0 fields"),
        ([emit(None, "D", b64(DEV)).replace(b"READY", b"{id} D"), b"\x1eVTUI {id} P\n"], "P"),
        ([b"\x1eVTUI {id} P " + b64(DEV) + b"\n"], "P record with 1 fields"),
        ([b"\x1eVTUI {id} D not*base64\n"], "bad base64"),
    ],
)
async def test_malformed_listing_records_are_a_typed_error(
    pair: SimPair,
    tmp_path: Path,
    servers: list[SimSshServer],
    answer: list[bytes],
    why: str,
) -> None:
    server = await serve(pair, ServerFaults(list_answer=answer), servers)
    transport = trusting(server, tmp_path)
    with pytest.raises(HostError) as caught:
        await transport.list_devices()
    assert caught.value.kind is ReadErrorKind.MALFORMED
    assert "garbled answer" in caught.value.message and why in caught.value.message
    # The pane shows it, and the reader is started anew after the usual backoff.
    assert transport.status.state is LinkState.RETRYING
    assert "garbled answer from the remote reader" in transport.status.message
    await transport.close()


async def test_refused_name_in_a_remote_listing(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    answer = [
        emit(None, "D", b64(HOSTILE)).replace(b"READY", b"{id} D"),
        emit(None, "P", b64(HOSTILE), b64("state")).replace(b"READY", b"{id} P"),
    ]
    server = await serve(pair, ServerFaults(list_answer=answer), servers)
    transport = trusting(server, tmp_path)
    with pytest.raises(DeviceChoiceError) as caught:
        await transport.resolve_device(None)
    assert caught.value.refused == [HOSTILE]
    assert transport.status.state is LinkState.FAILED
    await transport.close()


async def test_snapshot_of_a_malformed_listing_is_one_line_and_exit_1(
    pair: SimPair,
    tmp_path: Path,
    servers: list[SimSshServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = [emit(None, "D").replace(b"READY", b"{id} D")]
    server = await serve(pair, ServerFaults(list_answer=answer), servers)
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts_line() + "\n")
    url = f"ssh://127.0.0.1:{server.port}"
    # main() runs its own event loop: run it in a thread, as the CLI would in its process.
    code = await asyncio.to_thread(
        main, ["snapshot", url, f"sim://dst#{DEV}", "--known-hosts", str(known)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("vfio-tui snapshot: source") and "garbled answer" in line
