"""The local transport: a debugfs root on this machine, read in daemon threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import DeviceChoiceError, HostError, TransportOptions
from vfio_tui.transport.local import LocalTransport


def tree(tmp_path: Path, *devices: str) -> Path:
    for name in devices:
        base = tmp_path / "vfio" / name / "migration"
        base.mkdir(parents=True)
        (base / "state").write_text("RUNNING\n")
        (base / "features").write_text("stop-copy\n")
    (tmp_path / "vfio" / "0000:5e:00.1").mkdir(parents=True)  # no migration/
    return tmp_path


async def test_lists_only_migratable_devices(tmp_path: Path) -> None:
    local = LocalTransport(
        parse_host_url(f"local://{tree(tmp_path, 'a', 'b')}"), TransportOptions()
    )
    assert await local.list_devices() == {"a": ["features", "state"], "b": ["features", "state"]}
    with pytest.raises(DeviceChoiceError) as caught:
        await local.resolve_device(None)
    assert "pick one with #DEVICE" in caught.value.message
    assert f"local://{tmp_path}#a" in caught.value.message
    with pytest.raises(DeviceChoiceError, match="has no migratable device c"):
        await local.resolve_device("c")


async def test_one_device_is_picked_without_a_fragment(tmp_path: Path) -> None:
    local = LocalTransport(parse_host_url(f"local://{tree(tmp_path, 'only')}"), TransportOptions())
    assert await local.resolve_device(None) == ("only", ["features", "state"])


async def test_missing_debugfs_is_not_found(tmp_path: Path) -> None:
    local = LocalTransport(parse_host_url(f"local://{tmp_path}/nope"), TransportOptions())
    with pytest.raises(HostError) as caught:
        await local.list_devices()
    assert caught.value.kind is ReadErrorKind.NOT_FOUND


async def test_blocked_read_times_out_and_others_are_read(tmp_path: Path) -> None:
    root = tree(tmp_path, "dev")
    state = root / "vfio" / "dev" / "migration" / "state"
    state.unlink()
    os.mkfifo(state)
    local = LocalTransport(parse_host_url(f"local://{root}"), TransportOptions(read_timeout=0.3))
    result = await local.read_files("dev", ["state", "features"])
    assert result["state"].error is not None
    assert result["state"].error.kind is ReadErrorKind.TIMED_OUT
    assert result["features"].data == b"stop-copy\n"
    os.close(os.open(state, os.O_WRONLY | os.O_NONBLOCK))  # release the abandoned thread


async def test_huge_content_is_refused(tmp_path: Path) -> None:
    root = tree(tmp_path, "dev")
    (root / "vfio" / "dev" / "migration" / "features").write_bytes(b"x" * (2 << 20))
    local = LocalTransport(parse_host_url(f"local://{root}"), TransportOptions())
    result = await local.read_files("dev", ["features"])
    assert result["features"].error is not None
    assert result["features"].error.kind is ReadErrorKind.MALFORMED


async def test_polling_refuses_action_files(tmp_path: Path) -> None:
    local = LocalTransport(parse_host_url(f"local://{tree(tmp_path, 'dev')}"), TransportOptions())
    with pytest.raises(ValueError, match="action"):
        await local.read_files("dev", ["hisi_acc/save"])
    with pytest.raises(ValueError, match="pure read"):
        await local.trigger("dev", "state")
    with pytest.raises(ValueError, match="not a debugfs file"):
        await local.read_files("dev", ["../../etc/passwd"])
