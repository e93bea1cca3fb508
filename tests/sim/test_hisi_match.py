"""The simulated hisi_acc destination refuses what vf_qm_check_match() refuses, field by field.

Offsets and values are the kernel's (kernel-debugfs.md section 3, struct acc_vf_data in
drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h), written out here rather than taken from
vfio_tui.model.accdata, so a slip in either place shows.
"""

from __future__ import annotations

import errno

import pytest

from sim.hisi_acc import HisiAccDevice
from vfio_tui.model.states import MigrationState

S = MigrationState

# struct acc_vf_data, little-endian: (offset, size) of each field vf_qm_check_match() reads.
MAGIC = (0x00, 8)
QP_NUM = (0x08, 4)
DEV_ID = (0x0C, 4)
QUE_ISO_CFG = (0x10, 4)
QP_BASE = (0x14, 4)  # not compared: the destination reads its own from the VFT
MAJOR_VER = (0x1C, 2)  # V2 only; must be ACC_DRV_MAJOR_VER (1)
MINOR_VER = (0x1E, 2)  # not compared
ACC_MAGIC_V2 = 0xAACCFEEDDECADEDE


def _put(data: bytes, field: tuple[int, int], value: int) -> bytes:
    offset, size = field
    return data[:offset] + value.to_bytes(size, "little") + data[offset + size :]


def _get(data: bytes, field: tuple[int, int]) -> int:
    offset, size = field
    return int.from_bytes(data[offset : offset + size], "little")


async def _saved() -> bytes:
    """What a default source VF sends at STOP_COPY (176 bytes)."""
    src = HisiAccDevice("src")
    src.open()
    stream = await src.set_state(S.STOP_COPY)
    assert stream is not None
    data = stream.read()
    assert len(data) == 176
    # The kernel facts the edits below rely on: a V2 image of major version 1.
    assert _get(data, MAGIC) == ACC_MAGIC_V2 and _get(data, MAJOR_VER) == 1
    return data


async def _load(data: bytes) -> tuple[HisiAccDevice, int | None]:
    """Write `data` into a default destination VF and ask it to run; the errno, if any."""
    dst = HisiAccDevice("dst")
    dst.open()
    resume = await dst.set_state(S.RESUMING)
    assert resume is not None
    resume.write(data)
    try:
        await dst.set_state(S.RUNNING)
    except OSError as exc:
        return dst, exc.errno
    return dst, None


REFUSED = [
    pytest.param(MAGIC, 0x1122334455667788, "acc_magic", id="magic"),
    pytest.param(DEV_ID, 0xA259, "dev_id", id="dev_id-hpre"),
    pytest.param(DEV_ID, 0xA251, "dev_id", id="dev_id-zip"),
    pytest.param(QP_NUM, 8, "qp_num", id="qp_num-more"),
    pytest.param(QP_NUM, 3, "qp_num", id="qp_num-fewer"),
    pytest.param(QUE_ISO_CFG, 0, "que_iso_cfg", id="que_iso_cfg"),
    pytest.param(MAJOR_VER, 2, "major_ver", id="major_ver-2"),
    pytest.param(MAJOR_VER, 0, "major_ver", id="major_ver-0"),
]


@pytest.mark.parametrize(("field", "value", "named"), REFUSED)
async def test_destination_refuses_a_mismatched_match_field(
    field: tuple[int, int], value: int, named: str
) -> None:
    good = await _saved()
    assert _get(good, field) != value, "the edit must change the field"
    dst, failed = await _load(_put(good, field, value))
    assert failed == errno.EINVAL, f"{named}={value:#x} loaded: errno {failed}"
    assert await dst.read_file("state") == b"RESUMING\n", "a refused load left RESUMING"
    problems = dst.match_problems(_put(good, field, value))
    assert len(problems) == 1 and problems[0].startswith(named), problems


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param(None, 0, id="unchanged"),
        pytest.param(QP_BASE, 0x80, id="qp_base"),
        pytest.param(MINOR_VER, 7, id="minor_ver"),
    ],
)
async def test_destination_accepts_what_check_match_does_not_compare(
    field: tuple[int, int] | None, value: int
) -> None:
    good = await _saved()
    assert field is None or _get(good, field) != value, "the edit must change the field"
    data = good if field is None else _put(good, field, value)
    dst, failed = await _load(data)
    assert failed is None, f"refused with errno {failed}: {dst.match_problems(data)}"
    assert await dst.read_file("state") == b"RUNNING\n"


@pytest.mark.parametrize(
    "differs",
    [
        pytest.param({"qp_num": 8}, id="qp_num"),
        pytest.param({"que_iso_cfg": 0}, id="que_iso_cfg"),
        pytest.param({"dev_id": 0xA259}, id="dev_id"),
    ],
)
async def test_destination_vf_configured_differently_refuses_the_source(
    differs: dict[str, int],
) -> None:
    """The same refusal when the destination VF itself differs (as a real second host would)."""
    data = await _saved()
    dst = HisiAccDevice("dst", **differs)  # type: ignore[arg-type]
    dst.open()
    resume = await dst.set_state(S.RESUMING)
    assert resume is not None
    resume.write(data)
    with pytest.raises(OSError) as caught:
        await dst.set_state(S.RUNNING)
    assert caught.value.errno == errno.EINVAL
    assert await dst.read_file("state") == b"RESUMING\n"
