"""Two migration data images compared field by field, with what each difference means.

The notes follow the destination's checks: vf_qm_check_match() in
drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c refuses data whose magic,
dev_id, qp_num or que_iso_cfg differ from its own VF (and a V2 major version
other than 1); mtty_resume_write() in samples/vfio-mdev/mtty.c refuses a
header with another magic, version, port count or flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from vfio_tui.model.accdata import (
    ACC_DEVICE_NAMES,
    MTTY_HEADER_FIELDS,
    QM_MATCH_SIZE,
    FieldSpec,
    acc_fields_for,
    acc_magic,
    is_mtty_data,
)

REFUSE = "the destination would refuse to load this data"


@dataclass(frozen=True)
class FieldDiff:
    spec: FieldSpec
    a: str  # formatted value, or "(missing)"
    b: str
    differs: bool
    note: str  # why the difference matters, in plain words ("" when it does not differ)


def layout_name(a: bytes, b: bytes) -> str | None:
    """Which layout the two images have: "acc_vf_data", "mtty", or None (unknown)."""
    if is_mtty_data(a) or is_mtty_data(b):
        return "mtty"
    if acc_magic(a) is not None or acc_magic(b) is not None:
        return "acc_vf_data"
    return None


def compare_fields(a: bytes, b: bytes, kind: str | None = None) -> list[FieldDiff]:
    """Every field of the layout the images have (or of `kind`, when the captures say
    what they hold: dev_data's match header is zero); empty when neither is known."""
    kind = kind if kind in ("acc_vf_data", "mtty") else layout_name(a, b)
    if kind is None:
        return []
    if kind == "mtty":
        specs: tuple[FieldSpec, ...] = MTTY_HEADER_FIELDS
    else:
        specs = acc_fields_for(a if acc_magic(a) is not None else b)
    rows = []
    for spec in specs:
        va, vb = spec.format(a), spec.format(b)
        differs = va != vb
        note = _note(kind, spec, a, b) if differs else ""
        rows.append(FieldDiff(spec, va, vb, differs, note))
    return rows


def _note(kind: str, spec: FieldSpec, a: bytes, b: bytes) -> str:
    wa, wb = spec.words(a), spec.words(b)
    if wa is None or wb is None:
        shorter = min(len(a), len(b))
        return f"only {shorter} bytes on one side: the field is missing there"
    if kind == "mtty":
        return f"{spec.name} differs: mtty_resume_write() refuses the header (EFAULT)"
    name = spec.name
    if name == "acc_magic":
        ma, mb = acc_magic(a), acc_magic(b)
        if ma is not None and mb is not None:
            return f"magic {ma.name} on one side and {mb.name} on the other: {REFUSE}"
        return f"not a known acc_vf_data magic on one side: {REFUSE}"
    if name == "dev_id":
        da = ACC_DEVICE_NAMES.get(wa[0], f"0x{wa[0]:x}")
        db = ACC_DEVICE_NAMES.get(wb[0], f"0x{wb[0]:x}")
        return f"dev_id differs ({da} vs {db}): {REFUSE}"
    if name in ("qp_num", "que_iso_cfg"):
        return f"{name} differs: {REFUSE}"
    if name == "major_ver":
        return "major_ver differs: the destination refuses any major version but 1"
    if name == "vf_qm_state":
        return "the guest driver is loaded on one side only"
    if name == "qp_base":
        return "qp_base differs: the queue pairs start elsewhere (not checked by the destination)"
    if spec.offset >= 0x90:
        return "DMA address differs: the destination would use another address"
    if spec.in_match_header:
        return f"{name} differs inside the match header"
    return "device register state differs: the VF would not resume where it stopped"


def size_note(size_a: int, size_b: int) -> str:
    """What different sizes mean for hisi_acc data (40 = match data only)."""
    if size_a == size_b:
        return ""
    if QM_MATCH_SIZE in (size_a, size_b):
        return "one side holds match data only (40 bytes): its guest driver was not loaded"
    return f"sizes differ: {size_a} vs {size_b} bytes"
