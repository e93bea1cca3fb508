"""Field by field: what each difference means for the destination."""

from __future__ import annotations

from dataclasses import replace

from vfio_tui.model.accdata import ACC_MAGIC_V1, AccVfData, MttyHeader, encode_acc_vf_data
from vfio_tui.model.fielddiff import compare_fields, size_note

BASE = AccVfData(qp_num=4, dev_id=0xA256, que_iso_cfg=1, qp_base=0x40, page_size=0x1000)


def notes(a: AccVfData, b: AccVfData) -> dict[str, str]:
    rows = compare_fields(encode_acc_vf_data(a), encode_acc_vf_data(b))
    return {row.spec.name: row.note for row in rows if row.differs}


def test_identical_images_have_no_notes() -> None:
    assert notes(BASE, BASE) == {}


def test_dev_id_differs_means_refusal() -> None:
    found = notes(BASE, replace(BASE, dev_id=0xA259))
    assert found == {
        "dev_id": "dev_id differs (SEC VF vs HPRE VF): the destination would "
        "refuse to load this data"
    }


def test_magic_versions_and_registers() -> None:
    v1 = replace(BASE, acc_magic=ACC_MAGIC_V1, major_ver=0, minor_ver=0, qm_rsv_state=(0, 0, 0))
    assert "magic V2 on one side and V1 on the other" in notes(BASE, v1)["acc_magic"]
    regs = notes(BASE, replace(BASE, qm_eqc_dw=(1, 0, 0, 0, 0, 0, 0)))
    assert regs == {
        "qm_eqc_dw": "device register state differs: the VF would not resume where it stopped"
    }
    assert "refuses any major version but 1" in notes(BASE, replace(BASE, major_ver=2))["major_ver"]


def test_match_data_only_on_one_side() -> None:
    full = encode_acc_vf_data(BASE)
    rows = {r.spec.name: r for r in compare_fields(full, full[:40])}
    assert not rows["dev_id"].differs and rows["aeq_int_mask"].differs
    assert rows["aeq_int_mask"].b == "(missing)"
    assert "match data only" in size_note(176, 40)


def test_mtty_header() -> None:
    rows = compare_fields(MttyHeader(nr_ports=2).encode(), MttyHeader(nr_ports=1).encode())
    assert [r.spec.name for r in rows if r.differs] == ["nr_ports"]
    assert "EFAULT" in next(r.note for r in rows if r.differs)


def test_unknown_data_has_no_fields() -> None:
    assert compare_fields(b"hello", b"world") == []
