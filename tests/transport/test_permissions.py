"""Permission and type problems are reported as such, not as a device without files
(issue 10): `migration/` that the user may not read, a FIFO where a file should be.
Tests that need an unprivileged user run as root and switch (setpriv, or an SSH login as
the fixture's test user); they are skipped with the reason otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.nobody import snapshot_as_nobody
from tests.fixtures.sshd import NOSUDO_USER, Sshd, current_user
from tests.transport.test_openssh import transport as ssh_transport
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import HostError

DEV = "0000:3b:00.2"


@pytest.fixture
def debugfs() -> Iterator[Path]:
    """A debugfs root anyone may walk down to the device's `migration/` (pytest's own tmp
    directories are private to root)."""
    top = Path(tempfile.mkdtemp(prefix="vfio-tui-perm-"))
    migration = top / "debug" / "vfio" / DEV / "migration"
    migration.mkdir(parents=True)
    (migration / "state").write_text("RUNNING\n")
    (migration / "features").write_text("stop-copy\n")
    for path in (top, *migration.parents, migration):
        if path.is_relative_to(top):
            path.chmod(0o755)
    for path in migration.iterdir():
        path.chmod(0o644)
    yield top / "debug"
    (top / "debug" / "vfio" / DEV / "migration").chmod(0o755)
    shutil.rmtree(top, ignore_errors=True)


def release(fifo: Path) -> None:
    """Let a reader blocked on `fifo` go, should one be left."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_unreadable_migration_dir_is_permission_denied_locally(
    debugfs: Path, as_root: None
) -> None:
    (debugfs / "vfio" / DEV / "migration").chmod(0o000)
    url = f"local://{debugfs}"
    result = snapshot_as_nobody(url, url)
    assert result.returncode == 1, result.stdout
    out = json.loads(result.stdout)
    assert out["source"]["error"]["kind"] == "permission-denied"
    assert "layout" not in out["source"]  # not "core only"
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all("Permission denied" in line for line in lines)
    assert "migration" in lines[0] and "run as root" in lines[0]


async def test_unreadable_migration_dir_is_permission_denied_over_ssh(
    sshd: Sshd, debugfs: Path, test_users: None
) -> None:
    (debugfs / "vfio" / DEV / "migration").chmod(0o000)
    remote = ssh_transport(sshd, NOSUDO_USER, debugfs)
    with pytest.raises(HostError) as caught:
        await remote.list_devices()
    assert caught.value.kind is ReadErrorKind.PERMISSION_DENIED
    assert "migration" in caught.value.message and "Permission denied" in caught.value.message
    assert "--sudo" in caught.value.message
    await remote.close()


async def test_a_fifo_state_is_listed_and_reported_as_a_fifo(sshd: Sshd, debugfs: Path) -> None:
    state = debugfs / "vfio" / DEV / "migration" / "state"
    state.unlink()
    os.mkfifo(state)
    try:
        remote = ssh_transport(sshd, current_user(), debugfs, read_timeout=0.3)
        assert (await remote.list_devices())[DEV] == ["features", "state"]
        error = (await remote.read_files(DEV, ["state"]))["state"].error
        assert error is not None and error.kind is ReadErrorKind.TIMED_OUT
        assert "state is a FIFO, not a regular file" in error.message
        await remote.close()
    finally:
        release(state)


def test_snapshot_of_a_fifo_state_over_ssh_exits_1(sshd: Sshd, debugfs: Path) -> None:
    state = debugfs / "vfio" / DEV / "migration" / "state"
    state.unlink()
    os.mkfifo(state)
    config = sshd.ssh_config(current_user(), alias="fifo")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vfio_tui.cli",
                "snapshot",
                f"ssh://fifo{debugfs}",
                f"ssh://fifo{debugfs}",
                "--ssh-config",
                str(config),
                "--timeout",
                "0.3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        release(state)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all("state is a FIFO" in line for line in lines)
