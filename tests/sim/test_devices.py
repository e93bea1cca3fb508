"""Simulated devices behave like the kernel's drivers, file by file and errno by errno."""

from __future__ import annotations

import asyncio
import errno

import pytest

from sim.device import SimDevice
from sim.generic import GenericDevice
from sim.hisi_acc import HisiAccDevice, HisiLayout
from sim.mtty import MttyDevice
from sim.pace import Pace
from vfio_tui.model.accdata import ACC_MAGIC_V2, decode_acc_vf_data
from vfio_tui.model.formats import (
    parse_attr,
    parse_data,
    parse_dev_data,
    parse_migf_data,
    parse_save,
)
from vfio_tui.model.fsm import KernelFsm
from vfio_tui.model.states import MigrationFlags, MigrationState

S = MigrationState


async def read_errno(device: SimDevice, path: str) -> int | None:
    try:
        await device.read_file(path)
    except OSError as exc:
        return exc.errno
    return None


async def migrate(src: SimDevice, dst: SimDevice) -> bytes:
    """The uAPI calls QEMU makes, without pacing: returns the bytes moved."""
    src.open()
    dst.open()
    resume = await dst.set_state(S.RESUMING)
    stream = await src.set_state(S.STOP_COPY)
    assert resume is not None and stream is not None
    data = stream.read()
    resume.write(data)
    await src.set_state(S.STOP)
    await dst.set_state(S.RUNNING)
    return data


async def test_hisi_reads_error_until_first_open_and_running_after() -> None:
    dev = HisiAccDevice("0000:3b:00.2")
    assert await dev.read_file("state") == b"ERROR\n"
    dev.open()
    assert await dev.read_file("state") == b"RUNNING\n"
    await dev.set_state(S.STOP)
    dev.close()
    assert await dev.read_file("state") == b"STOP\n"  # the last state survives close


async def test_hisi_features_and_layouts() -> None:
    mainline = HisiAccDevice("a", HisiLayout.MAINLINE)
    old = HisiAccDevice("b", HisiLayout.V2023)
    assert await mainline.read_file("features") == b"stop-copy\npre-copy\n"
    assert set(mainline.files()) == {
        "state",
        "features",
        "hisi_acc/dev_data",
        "hisi_acc/migf_data",
        "hisi_acc/cmd_state",
    }
    assert set(old.files()) == {
        "state",
        "features",
        "hisi_acc/attr",
        "hisi_acc/data",
        "hisi_acc/save",
        "hisi_acc/io_test",
    }
    assert await read_errno(mainline, "hisi_acc/attr") == errno.ENOENT


async def test_mainline_errnos_follow_the_driver() -> None:
    dev = HisiAccDevice("0000:3b:00.2")
    assert await read_errno(dev, "hisi_acc/migf_data") == errno.EAGAIN  # nothing migrated
    assert await read_errno(dev, "hisi_acc/dev_data") == errno.EINVAL  # not opened
    assert await read_errno(dev, "hisi_acc/cmd_state") == errno.EINVAL
    dev.open()
    assert await dev.read_file("hisi_acc/cmd_state") == b"mailbox cmd channel ready!\n"
    dev.mailbox = 0xFFFFFFFF
    assert await read_errno(dev, "hisi_acc/cmd_state") == errno.EINVAL
    dev.guest_driver_loaded = False
    assert await read_errno(dev, "hisi_acc/dev_data") == errno.EBUSY  # VF not ready


async def test_dev_data_has_a_zero_match_header() -> None:
    dev = HisiAccDevice("0000:3b:00.2")
    dev.open()
    parsed = parse_dev_data(await dev.read_file("hisi_acc/dev_data"))
    assert len(parsed.dump) == 144
    assert parsed.dump[:0x18] == bytes(0x18)
    assert parsed.dump[0x1C:0x28] == bytes(12)
    assert parsed.dump[0x40:0x5C] != bytes(28)  # the EQC registers are there
    assert (parsed.guest_driver_load, parsed.data_size) == (0, 176)


async def test_migf_data_fills_on_both_sides_and_survives_close() -> None:
    src, dst = HisiAccDevice("s"), HisiAccDevice("d")
    moved = await migrate(src, dst)
    assert len(moved) == 176
    src_migf = parse_migf_data(await src.read_file("hisi_acc/migf_data"))
    dst_migf = parse_migf_data(await dst.read_file("hisi_acc/migf_data"))
    assert src_migf == dst_migf
    assert src_migf.length == 176 and src_migf.dump == moved[:144]
    assert decode_acc_vf_data(moved).acc_magic == ACC_MAGIC_V2
    src.close()
    assert parse_migf_data(await src.read_file("hisi_acc/migf_data")) == src_migf


async def test_guest_driver_not_loaded_sends_match_data_only() -> None:
    src, dst = HisiAccDevice("s", guest_driver_loaded=False), HisiAccDevice("d")
    moved = await migrate(src, dst)
    assert len(moved) == 40
    migf = parse_migf_data(await dst.read_file("hisi_acc/migf_data"))
    assert migf.length == 40
    assert migf.dump[0x18] == 1  # vf_qm_state: QM_NOT_READY


async def test_destination_refuses_a_wrong_vf_and_stays_resuming() -> None:
    src, dst = HisiAccDevice("s"), HisiAccDevice("d", dev_id=0xA259)
    with pytest.raises(OSError) as caught:
        await migrate(src, dst)  # the load, at RESUMING -> RUNNING
    assert caught.value.errno == errno.EINVAL
    assert await dst.read_file("state") == b"RESUMING\n"


async def test_2023_save_performs_a_save() -> None:
    dev = HisiAccDevice("0000:3d:00.2", HisiLayout.V2023)
    assert parse_data(await dev.read_file("hisi_acc/data")).dump is None  # not migrated
    assert (await dev.read_file("hisi_acc/save")) == b"device not opened!\n"
    dev.open()
    assert parse_save(await dev.read_file("hisi_acc/save")).saved
    attr = parse_attr(await dev.read_file("hisi_acc/attr"))
    assert (attr.state, attr.ready, attr.valid, attr.size) == (2, 0, 0, 176)
    data = parse_data(await dev.read_file("hisi_acc/data"))
    assert data.dump is not None and data.dump[0x0C:0x10] == bytes.fromhex("56a20000")
    assert await dev.read_file("hisi_acc/io_test") == b"debug mailbox val:0x0\n"
    dev.guest_driver_loaded = False
    assert await dev.read_file("hisi_acc/io_test") == b"VF device not ready!\n"


async def test_state_read_blocks_while_an_arc_is_in_progress() -> None:
    dev = MttyDevice("u", pace=Pace(arc=0.2, phase=0))
    change = asyncio.create_task(dev.set_state(S.STOP))  # RUNNING -> RUNNING_P2P -> STOP
    await asyncio.sleep(0.05)
    read = asyncio.create_task(dev.read_file("state"))
    await asyncio.sleep(0.1)
    assert not read.done()  # blocked on the state mutex
    await change
    assert await read == b"STOP\n"


async def test_unpatched_kernel_hangs_and_state_reads_block() -> None:
    dev = MttyDevice("u", kernel=KernelFsm.UNPATCHED)
    await dev.set_state(S.STOP_COPY)
    hang = asyncio.create_task(dev.set_state(S.PRE_COPY))
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(dev.read_file("state"), 0.1)
    assert dev.hung
    dev.release_hang()
    with pytest.raises(OSError):
        await hang
    fixed = MttyDevice("v")
    await fixed.set_state(S.STOP_COPY)
    with pytest.raises(OSError) as caught:
        await fixed.set_state(S.PRE_COPY)
    assert caught.value.errno == errno.EINVAL


async def test_requesting_error_or_unsupported_state_is_refused() -> None:
    dev = HisiAccDevice("x")
    dev.open()
    for target in (S.ERROR, S.RUNNING_P2P, S.PRE_COPY_P2P):
        with pytest.raises(OSError) as caught:
            await dev.set_state(target)
        assert caught.value.errno == errno.EINVAL
    assert dev.state is S.RUNNING


async def test_mtty_pre_copy_then_stop_copy_continues_on_the_same_fd() -> None:
    dev = MttyDevice("u")
    stream = await dev.set_state(S.PRE_COPY)
    assert stream is not None
    assert dev.precopy_info().initial_bytes == 24
    assert len(stream.read()) == 24
    assert dev.precopy_info().initial_bytes == 0
    assert await dev.set_state(S.STOP_COPY) is None  # no new fd
    assert len(stream.read()) == 72
    assert stream.read() == b""
    with pytest.raises(OSError) as caught:
        dev.precopy_info()  # only in PRE_COPY states
    assert caught.value.errno == errno.EINVAL


async def test_mtty_corrupt_header_fails_the_write_but_still_loads() -> None:
    src, dst = MttyDevice("s"), MttyDevice("d")
    stream = await src.set_state(S.STOP_COPY)
    assert stream is not None
    data = bytearray(stream.read())
    data[0] ^= 0xFF
    resume = await dst.set_state(S.RESUMING)
    assert resume is not None
    with pytest.raises(OSError) as caught:
        resume.write(bytes(data))
    assert caught.value.errno == errno.EFAULT
    await dst.set_state(S.RUNNING)  # mtty_load_state checks only the length
    assert dst.state is S.RUNNING


async def test_mtty_short_data_is_refused_at_load() -> None:
    dst = MttyDevice("d")
    resume = await dst.set_state(S.RESUMING)
    assert resume is not None
    resume.write(MttyDevice("s").image()[:30])
    with pytest.raises(OSError) as caught:
        await dst.set_state(S.STOP)
    assert caught.value.errno == errno.EINVAL
    assert dst.state is S.RESUMING


async def test_reset_returns_to_running_and_disables_the_fd() -> None:
    dev = MttyDevice("u")
    stream = await dev.set_state(S.STOP_COPY)
    assert stream is not None
    await dev.reset()
    assert dev.state is S.RUNNING
    with pytest.raises(OSError) as caught:
        stream.read()
    assert caught.value.errno == errno.ENODEV


async def test_unplugged_device_vanishes() -> None:
    dev = GenericDevice("0000:af:00.1", MigrationFlags.STOP_COPY)
    dev.unplug()
    assert await read_errno(dev, "state") == errno.ENOENT
    with pytest.raises(OSError) as caught:
        await dev.set_state(S.STOP)
    assert caught.value.errno == errno.ENODEV


async def test_generic_device_has_configurable_flags_and_size() -> None:
    dev = GenericDevice("g", MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY, data_size=1 << 20)
    assert await dev.read_file("features") == b"stop-copy\npre-copy\n"
    stream = await dev.set_state(S.PRE_COPY)
    assert stream is not None
    first = stream.read()
    await dev.set_state(S.STOP_COPY)
    assert len(first + stream.read()) == 1 << 20
