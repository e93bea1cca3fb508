"""struct acc_vf_data pinned against the kernel facts (kernel-debugfs.md section 3,
drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h), written out here, not read from the code.
"""

from __future__ import annotations

import struct

import pytest

from vfio_tui.model.accdata import (
    ACC_DRV_MAJOR_VER,
    ACC_DUMP_SIZE,
    ACC_FIELDS_V1,
    ACC_FIELDS_V2,
    ACC_MAGIC_V1,
    ACC_MAGIC_V2,
    ACC_VF_DATA_SIZE,
    QM_MATCH_SIZE,
    AccMagic,
    AccVfData,
    FieldSpec,
    acc_magic,
    decode_acc_vf_data,
    decode_fields,
    encode_acc_vf_data,
)

# (name, offset, size of a word, words); the first 40 bytes are the match data.
COMMON_HEAD = [
    ("acc_magic", 0x00, 8, 1),
    ("qp_num", 0x08, 4, 1),
    ("dev_id", 0x0C, 4, 1),
    ("que_iso_cfg", 0x10, 4, 1),
    ("qp_base", 0x14, 4, 1),
    ("vf_qm_state", 0x18, 4, 1),
]
V2_VERSION = [("major_ver", 0x1C, 2, 1), ("minor_ver", 0x1E, 2, 1), ("qm_rsv_state", 0x20, 4, 2)]
V1_VERSION = [("qm_rsv_state", 0x1C, 4, 3)]
REGISTERS = [
    ("aeq_int_mask", 0x28, 4, 1),
    ("eq_int_mask", 0x2C, 4, 1),
    ("ifc_int_source", 0x30, 4, 1),
    ("ifc_int_mask", 0x34, 4, 1),
    ("ifc_int_set", 0x38, 4, 1),
    ("page_size", 0x3C, 4, 1),
    ("qm_eqc_dw", 0x40, 4, 7),
    ("qm_aeqc_dw", 0x5C, 4, 7),
    ("qm_rsv_regs", 0x78, 4, 5),
    ("padding", 0x8C, 4, 1),
    ("eqe_dma", 0x90, 8, 1),
    ("aeqe_dma", 0x98, 8, 1),
    ("sqc_dma", 0xA0, 8, 1),
    ("cqc_dma", 0xA8, 8, 1),
]
KERNEL_LAYOUT = {
    "V2": COMMON_HEAD + V2_VERSION + REGISTERS,
    "V1": COMMON_HEAD + V1_VERSION + REGISTERS,
}


def test_the_kernel_constants() -> None:
    assert f"{ACC_MAGIC_V1:#018x}" == "0xcdcdcdcdfeedaacc"
    assert f"{ACC_MAGIC_V2:#018x}" == "0xaaccfeeddecadede"
    assert (ACC_VF_DATA_SIZE, QM_MATCH_SIZE, ACC_DUMP_SIZE, ACC_DRV_MAJOR_VER) == (176, 40, 144, 1)
    # As they lie in memory (little-endian): the V2 reference row starts "de de ca de ed fe cc aa".
    assert acc_magic(bytes.fromhex("dedecadeedfeccaa")) is AccMagic.V2
    assert acc_magic(bytes.fromhex("ccaaedfecdcdcdcd")) is AccMagic.V1
    assert acc_magic(bytes.fromhex("ccaaedfecdcdcdcc")) is None


@pytest.mark.parametrize(
    ("version", "layout"), [("V2", ACC_FIELDS_V2), ("V1", ACC_FIELDS_V1)], ids=["V2", "V1"]
)
def test_field_layout_is_the_kernels(version: str, layout: tuple[FieldSpec, ...]) -> None:
    got = [(f.name, f.offset, f.size, f.count) for f in layout]
    assert got == KERNEL_LAYOUT[version]
    # The match header is exactly the fields in the first 40 bytes, every one of them.
    header = [f.name for f in layout if f.in_match_header]
    want = [name for name, offset, _, _ in KERNEL_LAYOUT[version] if offset < QM_MATCH_SIZE]
    assert header == want


def _image(magic: int) -> bytes:
    """176 bytes where every 4-byte word holds its own offset (so a swap shows), LE."""
    data = bytearray(b"".join(struct.pack("<I", 0x1000 + off) for off in range(0, 176, 4)))
    struct.pack_into("<Q", data, 0, magic)
    return bytes(data)


@pytest.mark.parametrize("magic", [ACC_MAGIC_V2, ACC_MAGIC_V1], ids=["V2", "V1"])
def test_each_field_decodes_from_its_own_bytes(magic: int) -> None:
    """Field by field, the value comes from the kernel offset: swapped names show."""
    data = _image(magic)
    version = "V2" if magic == ACC_MAGIC_V2 else "V1"
    vf = decode_acc_vf_data(data)
    fields = {f.spec.name: f for f in decode_fields(data)}
    for name, offset, size, count in KERNEL_LAYOUT[version]:
        fmt = {2: "H", 4: "I", 8: "Q"}[size]
        want = struct.unpack_from(f"<{count}{fmt}", data, offset)
        assert fields[name].words == want, f"{name} at {offset:#x}"
        assert getattr(vf, name) == (want if count > 1 else want[0]), name
    assert encode_acc_vf_data(vf) == data


def test_only_a_wrong_major_version_is_labelled_as_refused() -> None:
    """The meaning "destination refuses major version" belongs to major_ver alone."""
    for major in (0, 1, 2):
        vf = AccVfData(qp_num=4, dev_id=0xA256, que_iso_cfg=1, qp_base=0x40, major_ver=major)
        data = encode_acc_vf_data(vf)
        data = data[:-8] + struct.pack("<Q", 7)  # a later field that is not 1, nor 0
        meanings = {f.spec.name: f.meaning for f in decode_fields(data)}
        labelled = [name for name, m in meanings.items() if "refuses" in m]
        assert labelled == ([] if major == 1 else ["major_ver"]), meanings
        refused = f"destination refuses major version {major} (needs 1)"
        expected = {
            "acc_magic": "magic V2",
            "dev_id": "SEC VF",
            "major_ver": "" if major == 1 else refused,
        }
        for name, meaning in meanings.items():
            if name == "vf_qm_state":
                assert meaning.startswith("guest driver loaded"), meaning
            else:
                assert meaning == expected.get(name, ""), f"{name}: {meaning!r}"
