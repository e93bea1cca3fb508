"""struct acc_vf_data and the mtty header: offsets, magic versions, round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vfio_tui.model.accdata import (
    ACC_DUMP_SIZE,
    ACC_FIELDS_V1,
    ACC_FIELDS_V2,
    ACC_MAGIC_V1,
    ACC_MAGIC_V2,
    ACC_VF_DATA_SIZE,
    QM_MATCH_SIZE,
    AccVfData,
    MttyHeader,
    acc_data_size_words,
    decode_acc_vf_data,
    decode_fields,
    decode_mtty_header,
    encode_acc_vf_data,
)
from vfio_tui.model.states import QM_NOT_READY, QM_READY

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)


def words(n: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[u32] * n)


common = {
    "qp_num": u32,
    "dev_id": u32,
    "que_iso_cfg": u32,
    "qp_base": u32,
    "vf_qm_state": u32,
    "aeq_int_mask": u32,
    "eq_int_mask": u32,
    "ifc_int_source": u32,
    "ifc_int_mask": u32,
    "ifc_int_set": u32,
    "page_size": u32,
    "qm_eqc_dw": words(7),
    "qm_aeqc_dw": words(7),
    "qm_rsv_regs": words(5),
    "padding": u32,
    "eqe_dma": u64,
    "aeqe_dma": u64,
    "sqc_dma": u64,
    "cqc_dma": u64,
}
v2_data = st.builds(
    AccVfData,
    acc_magic=st.just(ACC_MAGIC_V2),
    major_ver=st.integers(0, 0xFFFF),
    minor_ver=st.integers(0, 0xFFFF),
    qm_rsv_state=words(2),
    **common,
)
v1_data = st.builds(
    AccVfData,
    acc_magic=st.just(ACC_MAGIC_V1),
    major_ver=st.just(0),
    minor_ver=st.just(0),
    qm_rsv_state=words(3),
    **common,
)


@given(v2_data | v1_data)
def test_encode_then_decode_is_exact(vf: AccVfData) -> None:
    data = encode_acc_vf_data(vf)
    assert len(data) == ACC_VF_DATA_SIZE
    assert decode_acc_vf_data(data) == vf
    assert encode_acc_vf_data(decode_acc_vf_data(data)) == data


def test_layout_offsets_follow_the_header_file() -> None:
    by_name = {f.name: f for f in ACC_FIELDS_V2}
    assert by_name["dev_id"].offset == 0x0C
    assert by_name["vf_qm_state"].offset == 0x18
    assert (by_name["major_ver"].offset, by_name["minor_ver"].offset) == (0x1C, 0x1E)
    assert by_name["qm_eqc_dw"].offset == 0x40 and by_name["qm_eqc_dw"].end == 0x5C
    assert by_name["padding"].end == 0x90
    assert by_name["cqc_dma"].end == ACC_VF_DATA_SIZE
    assert max(f.end for f in ACC_FIELDS_V2 if f.in_match_header) == QM_MATCH_SIZE
    assert max(f.end for f in ACC_FIELDS_V1 if f.in_match_header) == QM_MATCH_SIZE
    # Fields tile the struct with no gap and no overlap, in both versions.
    for layout in (ACC_FIELDS_V1, ACC_FIELDS_V2):
        ends = 0
        for spec in layout:
            assert spec.offset == ends, spec.name
            ends = spec.end
        assert ends == ACC_VF_DATA_SIZE


def test_decode_fields_of_the_reference_row_and_short_data() -> None:
    data = bytes.fromhex("dedecadeedfeccaa0400000056a20000") + bytes(24)
    fields = {f.spec.name: f for f in decode_fields(data)}
    assert fields["acc_magic"].meaning == "magic V2"
    assert fields["qp_num"].value == "0x00000004"
    assert fields["dev_id"].meaning == "SEC VF"
    assert fields["vf_qm_state"].meaning.startswith("guest driver loaded")
    assert fields["major_ver"].meaning == "destination refuses major version 0 (needs 1)"
    assert fields["aeq_int_mask"].value == "(missing)"  # 40 bytes: match data only
    assert fields["qm_eqc_dw"].words is None


def test_mtty_header() -> None:
    header = MttyHeader(nr_ports=2)
    data = header.encode()
    assert data[:8] == bytes.fromhex("4e2c3e8c89099d7e")
    assert len(data) == 24 and header.data_size == 96
    assert decode_mtty_header(data + bytes(72)) == header
    assert MttyHeader(nr_ports=1).problems(2) == ["1 ports, the device has 2"]
    assert MttyHeader(magic=0).problems(2)[0].startswith("magic")


def test_the_dma_addresses_debugfs_never_dumps_are_said_so_not_missing() -> None:
    dump = bytes(ACC_DUMP_SIZE)  # what a 176-byte acc_vf_data looks like through debugfs
    fields = {f.spec.name: f for f in decode_fields(dump)}
    assert fields["padding"].value == "0x00000000"
    for name in ("eqe_dma", "aeqe_dma", "sqc_dma", "cqc_dma"):
        assert fields[name].value == "(not dumped)"
        assert "first 144 of the 176 bytes" in fields[name].meaning


def test_a_40_byte_length_never_blames_a_guest_driver_that_is_loaded() -> None:
    assert acc_data_size_words(40, QM_NOT_READY) == (
        "match data only: the guest driver was not loaded"
    )
    loaded = acc_data_size_words(40, QM_READY)
    assert "not loaded" not in loaded and "stopped after pre-copy" in loaded
    assert "not loaded" not in acc_data_size_words(176, QM_READY)
