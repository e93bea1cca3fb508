"""SSH against OpenSSH's own sshd on loopback: config, ProxyJump, permissions, sudo and
blocked reads."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from sim.names import HISI_MAINLINE_DEVICE
from tests.fixtures.sshd import NOSUDO_USER, TEST_USER, Sshd, current_user
from tests.transport.helpers import read_everything
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import HostError, LinkState, TransportOptions
from vfio_tui.transport.ssh import SshTransport

DEV = HISI_MAINLINE_DEVICE


def transport(
    sshd: Sshd,
    user: str,
    root: Path,
    *,
    sudo: bool = False,
    jump: bool = False,
    read_timeout: float = 2.0,
) -> SshTransport:
    config = sshd.ssh_config(user, jump=jump)
    return SshTransport(
        parse_host_url(f"ssh://target{root}"),
        TransportOptions(
            sudo=sudo,
            ssh_config=[str(config)],  # known_hosts comes from its UserKnownHostsFile
            read_timeout=read_timeout,
        ),
    )


async def test_proxyjump_from_ssh_config(sshd: Sshd, clean_tree: Path) -> None:
    hop = transport(sshd, current_user(), clean_tree / "dst", jump=True)
    devices = await read_everything(hop)
    assert devices[DEV]["state"].data == b"RUNNING\n"
    await hop.close()


async def test_non_root_is_told_debugfs_is_root_only(
    sshd: Sshd, root_only_tree: Path, test_users: None
) -> None:
    plain = transport(sshd, NOSUDO_USER, root_only_tree)
    with pytest.raises(HostError) as caught:
        await plain.list_devices()
    assert caught.value.kind is ReadErrorKind.PERMISSION_DENIED
    assert "Permission denied" in caught.value.message and "--sudo" in caught.value.message
    result = await plain.read_files(DEV, ["state"])
    assert result["state"].error is not None
    assert result["state"].error.errno_name == "EACCES"
    await plain.close()


async def test_sudo_reads_root_only_debugfs(
    sshd: Sshd, root_only_tree: Path, test_users: None
) -> None:
    elevated = transport(sshd, TEST_USER, root_only_tree, sudo=True)
    devices = await read_everything(elevated)  # also: the noisy .bashrc did not break framing
    assert devices[DEV]["state"].data == b"STOP\n"
    await elevated.close()


async def test_missing_sudo_rule_is_named(
    sshd: Sshd, root_only_tree: Path, test_users: None
) -> None:
    refused = transport(sshd, NOSUDO_USER, root_only_tree, sudo=True)
    with pytest.raises(HostError) as caught:
        await refused.connect()
    assert caught.value.kind is ReadErrorKind.PERMISSION_DENIED
    assert f"{NOSUDO_USER} ALL=(root) NOPASSWD: /bin/sh -s" in caught.value.message
    assert refused.status.state is LinkState.FAILED


async def test_blocked_read_times_out_and_the_rest_is_read(sshd: Sshd, tmp_path: Path) -> None:
    # A FIFO with no writer blocks its reader, as a state read does while the
    # driver holds its mutex.
    base = tmp_path / "debug" / "vfio" / DEV / "migration"
    base.mkdir(parents=True)
    os.mkfifo(base / "state")
    (base / "features").write_text("stop-copy\npre-copy\n")
    tmp_path.chmod(0o755)
    for directory in (tmp_path / "debug", tmp_path / "debug" / "vfio", base.parent, base):
        directory.chmod(0o755)
    remote = transport(sshd, current_user(), tmp_path / "debug", read_timeout=0.5)
    result = await remote.read_files(DEV, ["state", "features"])
    state = result["state"].error
    assert state is not None and state.kind is ReadErrorKind.TIMED_OUT
    assert result["features"].data == b"stop-copy\npre-copy\n"
    again = await remote.read_files(DEV, ["features"])  # the reader still answers
    assert again["features"].ok
    assert remote.status.state is LinkState.CONNECTED
    await remote.close()
    # Let the abandoned reader go (it would wait for a writer for ever).
    with contextlib.suppress(OSError):
        os.close(os.open(base / "state", os.O_WRONLY | os.O_NONBLOCK))
