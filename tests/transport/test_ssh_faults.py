"""SSH against asyncssh's in-process server (the simulator's front door): host keys,
reconnects, permissions, blocked reads, vanishing devices, refused channels, garbage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncssh
import pytest

from sim.pair import HISI_MAINLINE_DEVICE, SimPair
from sim.scenarios import scenario
from sim.sshserver import ServerFaults, SimSshServer, serve_pair
from tests.transport.helpers import trusting
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import HostError, LinkState, TransportOptions
from vfio_tui.transport.hostkeys import HostKeyError
from vfio_tui.transport.ssh import SshTransport

DEV = HISI_MAINLINE_DEVICE
POLL = ["state", "features", "hisi_acc/migf_data"]


async def serve(pair: SimPair, host: str = "src", **faults: object) -> SimSshServer:
    (server,) = await serve_pair([pair.host(host)], faults=ServerFaults(**faults))  # type: ignore[arg-type]
    return server


async def test_unknown_host_key_is_refused_until_accepted(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    known = tmp_path / "known_hosts"
    url = parse_host_url(f"ssh://127.0.0.1:{server.port}")
    transport = SshTransport(url, TransportOptions(known_hosts=str(known)))
    with pytest.raises(HostKeyError) as caught:
        await transport.connect()
    problem = caught.value.problem
    assert not problem.changed
    assert problem.fingerprint == server.host_key.get_fingerprint("sha256")  # type: ignore[union-attr]
    assert f"[127.0.0.1]:{server.port}" in str(caught.value)
    assert problem.fingerprint in str(caught.value)
    assert transport.status.state is LinkState.FAILED
    # Reads do not silently retry: the key needs a person.
    result = await transport.read_files(DEV, ["state"])
    assert result["state"].error is not None
    assert result["state"].error.kind is ReadErrorKind.PERMISSION_DENIED
    with pytest.raises(ValueError, match="not the key"):
        transport.accept_host_key("SHA256:somethingelse", save=False)
    transport.accept_host_key(problem.fingerprint, save=False)  # once
    assert (await transport.read_files(DEV, ["state"]))["state"].data == b"RUNNING\n"
    assert not known.exists()  # `once` writes nothing
    await transport.close()

    always = SshTransport(url, TransportOptions(known_hosts=str(known)))
    with pytest.raises(HostKeyError):
        await always.connect()
    always.accept_host_key(problem.fingerprint, save=True)
    await always.connect()
    await always.close()
    fresh = SshTransport(url, TransportOptions(known_hosts=str(known)))
    await fresh.connect()  # now known: no question asked
    await fresh.close()
    assert known.read_text().startswith(f"[127.0.0.1]:{server.port} ssh-ed25519 ")


async def test_changed_host_key_is_refused_loudly(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {other[0].decode()} {other[1].decode()}\n")
    transport = SshTransport(
        parse_host_url(f"ssh://127.0.0.1:{server.port}"), TransportOptions(known_hosts=str(known))
    )
    with pytest.raises(HostKeyError) as caught:
        await transport.connect()
    assert caught.value.problem.changed
    assert "HOST KEY CHANGED" in str(caught.value)
    assert server.sessions == 0  # nothing ran on a host we do not trust


async def test_server_killed_and_restarted_reconnects(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    transport = trusting(server, tmp_path)
    assert (await transport.read_files(DEV, ["state"]))["state"].ok
    first_good = transport.status.last_good_read
    port, key = server.port, server.host_key
    server.kill()
    lost = await transport.read_files(DEV, ["state"])
    assert lost["state"].error is not None
    assert lost["state"].error.kind is ReadErrorKind.HOST_UNREACHABLE
    assert transport.status.state is LinkState.RETRYING
    assert "retrying in" in transport.status.describe()
    restarted = SimSshServer(pair.host("src"))
    await restarted.start(port, host_key=key)
    servers.append(restarted)
    deadline = time.monotonic() + 10
    while True:
        result = await transport.read_files(DEV, ["state"])
        if result["state"].ok:
            break
        assert time.monotonic() < deadline, transport.status.describe()
        await asyncio.sleep(0.2)
    assert transport.status.state is LinkState.CONNECTED
    assert transport.status.last_good_read is not None and first_good is not None
    assert transport.status.last_good_read >= first_good
    await transport.close()


async def test_permission_denied_on_debugfs(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    pair.src.debugfs_readable = False
    transport = trusting(server, tmp_path)
    with pytest.raises(HostError) as caught:
        await transport.list_devices()
    assert caught.value.kind is ReadErrorKind.PERMISSION_DENIED
    assert "Permission denied" in caught.value.message
    assert "--sudo" in caught.value.message
    result = await transport.read_files(DEV, ["state"])
    assert result["state"].error is not None
    assert result["state"].error.kind is ReadErrorKind.PERMISSION_DENIED
    assert result["state"].error.errno_name == "EACCES"
    await transport.close()


async def test_blocked_read_times_out_while_the_other_host_keeps_polling(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(src_server := await serve(pair, "src"))
    servers.append(dst_server := await serve(pair, "dst"))
    pair.start_migration(DEV, scenario("hung-save"))
    src = trusting(src_server, tmp_path, read_timeout=0.5)
    dst = trusting(dst_server, tmp_path, read_timeout=0.5)
    for _ in range(100):  # wait until the source's save hangs
        if pair.src.device(DEV).hung:
            break
        await asyncio.sleep(0.02)
    dst_polls = 0

    async def poll_dst() -> None:
        nonlocal dst_polls
        while True:
            assert (await dst.read_files(DEV, ["state"]))["state"].ok
            dst_polls += 1
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll_dst())
    result = await src.read_files(DEV, POLL)
    poller.cancel()
    state = result["state"].error
    assert state is not None and state.kind is ReadErrorKind.TIMED_OUT
    assert result["features"].data == b"stop-copy\npre-copy\n"  # the next files were still read
    assert dst_polls >= 5  # the other host was never held up
    # The source connection is still usable afterwards.
    assert (await src.read_files(DEV, ["features"]))["features"].ok
    await src.close()
    await dst.close()


async def test_device_that_vanishes(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    transport = trusting(server, tmp_path)
    assert DEV in await transport.list_devices()
    pair.src.device(DEV).unplug()
    result = await transport.read_files(DEV, POLL)
    assert {r.error.kind for r in result.values() if r.error} == {ReadErrorKind.NOT_FOUND}
    assert len(result) == 3
    assert DEV not in await transport.list_devices()
    await transport.close()


async def test_refused_channel(pair: SimPair, tmp_path: Path, servers: list[SimSshServer]) -> None:
    servers.append(server := await serve(pair, refuse_sessions=True))
    transport = trusting(server, tmp_path)
    result = await transport.read_files(DEV, ["state"])
    error = result["state"].error
    assert error is not None and error.kind is ReadErrorKind.HOST_UNREACHABLE
    assert "did not start" in error.message
    assert transport.status.state is LinkState.RETRYING


async def test_garbage_framing(pair: SimPair, tmp_path: Path, servers: list[SimSshServer]) -> None:
    servers.append(server := await serve(pair, garbage=True))
    transport = trusting(server, tmp_path)
    result = await transport.read_files(DEV, POLL)
    assert {r.error.kind for r in result.values() if r.error} == {ReadErrorKind.MALFORMED}
    assert all("garbled" in r.error.message for r in result.values() if r.error)


async def test_noisy_and_slow_shell_start_up(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    noise = b"Welcome to prod!\n\x1eVTUI 1 F 1 Zm9v\n\x00\xff binary motd\n\x1eVTUI 1 END\n"
    servers.append(server := await serve(pair, noise_before_ready=noise, ready_delay=0.5))
    transport = trusting(server, tmp_path)
    result = await transport.read_files(DEV, ["state"])
    assert result["state"].data == b"RUNNING\n"  # not the fake record in the noise
    await transport.close()


async def test_missing_sudo_rule_says_which_rule(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair, sudo_refused=True))
    transport = trusting(server, tmp_path, sudo=True)
    with pytest.raises(HostError) as caught:
        await transport.connect()
    assert caught.value.kind is ReadErrorKind.PERMISSION_DENIED
    assert "tester ALL=(root) NOPASSWD: /bin/sh -s" in caught.value.message
    assert transport.status.state is LinkState.FAILED


async def test_sudo_works_on_the_simulator(
    pair: SimPair, tmp_path: Path, servers: list[SimSshServer]
) -> None:
    servers.append(server := await serve(pair))
    transport = trusting(server, tmp_path, sudo=True)
    assert (await transport.read_files(DEV, ["state"]))["state"].data == b"RUNNING\n"
    await transport.close()


async def test_unreachable_host_backs_off(tmp_path: Path) -> None:
    from tests.fixtures.sshd import free_port

    transport = SshTransport(
        parse_host_url(f"ssh://127.0.0.1:{free_port()}"),
        TransportOptions(known_hosts=str(tmp_path / "kh"), connect_timeout=2),
    )
    first = (await transport.read_files(DEV, ["state"]))["state"].error
    assert first is not None and "refused" in first.message
    assert transport.status.state is LinkState.RETRYING
    second = (await transport.read_files(DEV, ["state"]))["state"].error
    assert second is not None and second.message.startswith("retrying in ")


@pytest.mark.parametrize(
    ("algorithm", "public_file"),
    [
        ("ssh-rsa", "/etc/ssh/ssh_host_rsa_key.pub"),
        ("ecdsa-sha2-nistp256", "/etc/ssh/ssh_host_ecdsa_key.pub"),
        ("ssh-ed25519", "/etc/ssh/ssh_host_ed25519_key.pub"),
    ],
)
async def test_unknown_host_key_hint_names_the_file_of_its_algorithm(
    pair: SimPair, tmp_path: Path, algorithm: str, public_file: str
) -> None:
    (server,) = await serve_pair(
        [pair.host("src")], keys=[asyncssh.generate_private_key(algorithm)]
    )
    transport = SshTransport(
        parse_host_url(f"ssh://127.0.0.1:{server.port}"),
        TransportOptions(known_hosts=str(tmp_path / "known_hosts")),
    )
    try:
        with pytest.raises(HostKeyError) as caught:
            await transport.connect()
    finally:
        server.close()
    assert f"ssh-keygen -lf {public_file})" in caught.value.message
    others = {"rsa", "ecdsa", "ed25519"} - {public_file.split("_")[2]}
    assert not any(f"ssh_host_{name}_key" in caught.value.message for name in others)
