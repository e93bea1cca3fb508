"""Migration data layouts: hisi_acc's struct acc_vf_data and mtty's data header.

struct acc_vf_data is from drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h (176
bytes, little-endian; the first 40 are the "match data" that pre-copy sends and
the destination checks in vf_qm_check_match()). struct mtty_data is from
samples/vfio-mdev/mtty.c. Decoding never assumes a length: fields past the end
of the bytes are reported as missing, and the DMA addresses that debugfs
never dumps (it shows the first 144 bytes) as not dumped.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from vfio_tui.model.states import QM_NOT_READY, QM_READY, vf_qm_state_words

ACC_MAGIC_V1: Final = 0xCDCDCDCDFEEDAACC
ACC_MAGIC_V2: Final = 0xAACCFEEDDECADEDE
ACC_VF_DATA_SIZE: Final = 176
QM_MATCH_SIZE: Final = 40  # offsetofend(struct acc_vf_data, qm_rsv_state)
ACC_DUMP_SIZE: Final = 144  # offsetofend(struct acc_vf_data, padding): what debugfs shows
NOT_DUMPED: Final = "debugfs shows only the first 144 of the 176 bytes"
ACC_DRV_MAJOR_VER: Final = 1
ACC_DRV_MINOR_VER: Final = 0

# VF PCI device ids (include/linux/pci_ids.h, PCI_DEVICE_ID_HUAWEI_*_VF)
ACC_DEVICE_NAMES: Final[Mapping[int, str]] = {0xA256: "SEC VF", 0xA259: "HPRE VF", 0xA251: "ZIP VF"}


class AccMagic(enum.Enum):
    V1 = ACC_MAGIC_V1
    V2 = ACC_MAGIC_V2


@dataclass(frozen=True)
class FieldSpec:
    """One field of a binary layout: where it is and how to show it."""

    name: str
    offset: int
    size: int
    count: int = 1  # > 1 for arrays of `size`-byte words
    note: str = ""
    in_match_header: bool = False

    @property
    def end(self) -> int:
        return self.offset + self.size * self.count

    def words(self, data: bytes) -> tuple[int, ...] | None:
        """The field's value(s) from `data`, or None if `data` ends before the field does."""
        if len(data) < self.end:
            return None
        fmt = {2: "H", 4: "I", 8: "Q"}[self.size]
        return struct.unpack_from(f"<{self.count}{fmt}", data, self.offset)

    def format(self, data: bytes) -> str:
        """The value as a person reads it: hex words, `(not dumped)` for what debugfs
        never shows of acc_vf_data (its dump is 144 bytes), `(missing)` past the end."""
        words = self.words(data)
        if words is None:
            return "(not dumped)" if _not_dumped(self, data) else "(missing)"
        digits = self.size * 2
        shown = " ".join(f"0x{w:0{digits}x}" for w in words)
        return f"[{shown}]" if self.count > 1 else shown


def _not_dumped(spec: FieldSpec, data: bytes) -> bool:
    """Not lost: the kernel's debugfs dump stops at offsetofend(padding), byte 144."""
    return len(data) == ACC_DUMP_SIZE and spec.offset >= ACC_DUMP_SIZE


def _acc_fields(v2: bool) -> tuple[FieldSpec, ...]:
    head = (
        FieldSpec(
            "acc_magic",
            0x00,
            8,
            note="V1 0xcdcdcdcdfeedaacc, V2 0xaaccfeeddecadede",
            in_match_header=True,
        ),
        FieldSpec("qp_num", 0x08, 4, note="queue pairs of the VF", in_match_header=True),
        FieldSpec("dev_id", 0x0C, 4, note="VF PCI device id", in_match_header=True),
        FieldSpec("que_iso_cfg", 0x10, 4, note="queue isolation state", in_match_header=True),
        FieldSpec("qp_base", 0x14, 4, note="first queue pair", in_match_header=True),
        FieldSpec(
            "vf_qm_state", 0x18, 4, note="0 guest driver loaded, 1 not loaded", in_match_header=True
        ),
    )
    if v2:
        version: tuple[FieldSpec, ...] = (
            FieldSpec("major_ver", 0x1C, 2, note="must be 1", in_match_header=True),
            FieldSpec("minor_ver", 0x1E, 2, in_match_header=True),
            FieldSpec("qm_rsv_state", 0x20, 4, count=2, in_match_header=True),
        )
    else:
        version = (FieldSpec("qm_rsv_state", 0x1C, 4, count=3, in_match_header=True),)
    regs = (
        FieldSpec("aeq_int_mask", 0x28, 4),
        FieldSpec("eq_int_mask", 0x2C, 4),
        FieldSpec("ifc_int_source", 0x30, 4),
        FieldSpec("ifc_int_mask", 0x34, 4),
        FieldSpec("ifc_int_set", 0x38, 4),
        FieldSpec("page_size", 0x3C, 4),
        FieldSpec("qm_eqc_dw", 0x40, 4, count=7),
        FieldSpec("qm_aeqc_dw", 0x5C, 4, count=7),
        FieldSpec("qm_rsv_regs", 0x78, 4, count=5),
        FieldSpec("padding", 0x8C, 4, note="the debugfs dump ends here"),
        FieldSpec("eqe_dma", 0x90, 8, note="never shown in debugfs"),
        FieldSpec("aeqe_dma", 0x98, 8, note="never shown in debugfs"),
        FieldSpec("sqc_dma", 0xA0, 8, note="never shown in debugfs"),
        FieldSpec("cqc_dma", 0xA8, 8, note="never shown in debugfs"),
    )
    return head + version + regs


ACC_FIELDS_V1: Final = _acc_fields(v2=False)
ACC_FIELDS_V2: Final = _acc_fields(v2=True)


def acc_fields_for(data: bytes) -> tuple[FieldSpec, ...]:
    """The layout to read `data` with: V2 when its magic says so, else V1."""
    return ACC_FIELDS_V2 if acc_magic(data) is AccMagic.V2 else ACC_FIELDS_V1


def acc_magic(data: bytes) -> AccMagic | None:
    if len(data) < 8:
        return None
    value = struct.unpack_from("<Q", data, 0)[0]
    try:
        return AccMagic(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class AccVfData:
    """struct acc_vf_data, every field by name. Arrays are tuples of words."""

    acc_magic: int = ACC_MAGIC_V2
    qp_num: int = 0
    dev_id: int = 0
    que_iso_cfg: int = 0
    qp_base: int = 0
    vf_qm_state: int = 0
    # V2 splits the first reserved word into the version; V1 keeps qm_rsv_state[3].
    major_ver: int = ACC_DRV_MAJOR_VER
    minor_ver: int = ACC_DRV_MINOR_VER
    qm_rsv_state: tuple[int, ...] = (0, 0)
    aeq_int_mask: int = 0
    eq_int_mask: int = 0
    ifc_int_source: int = 0
    ifc_int_mask: int = 0
    ifc_int_set: int = 0
    page_size: int = 0
    qm_eqc_dw: tuple[int, ...] = field(default=(0,) * 7)
    qm_aeqc_dw: tuple[int, ...] = field(default=(0,) * 7)
    qm_rsv_regs: tuple[int, ...] = field(default=(0,) * 5)
    padding: int = 0
    eqe_dma: int = 0
    aeqe_dma: int = 0
    sqc_dma: int = 0
    cqc_dma: int = 0

    @property
    def is_v2(self) -> bool:
        return self.acc_magic == ACC_MAGIC_V2

    @property
    def layout(self) -> tuple[FieldSpec, ...]:
        return ACC_FIELDS_V2 if self.is_v2 else ACC_FIELDS_V1


def decode_acc_vf_data(data: bytes) -> AccVfData:
    """struct acc_vf_data from at least 176 bytes (shorter: ValueError; see decode_fields)."""
    if len(data) < ACC_VF_DATA_SIZE:
        raise ValueError(f"struct acc_vf_data is {ACC_VF_DATA_SIZE} bytes, got {len(data)}")
    specs = acc_fields_for(data)
    values: dict[str, object] = {}
    for spec in specs:
        words = spec.words(data)
        assert words is not None
        values[spec.name] = words if spec.count > 1 else words[0]
    if "major_ver" not in values:  # V1: the version words are reserved state
        values["major_ver"] = 0
        values["minor_ver"] = 0
    return AccVfData(**values)  # type: ignore[arg-type]


def encode_acc_vf_data(vf: AccVfData) -> bytes:
    """The 176 bytes of `vf`, laid out as its magic says (V2 or V1)."""
    out = bytearray(ACC_VF_DATA_SIZE)
    for spec in vf.layout:
        value = getattr(vf, spec.name)
        words = value if isinstance(value, tuple) else (value,)
        if len(words) != spec.count:
            raise ValueError(f"{spec.name} needs {spec.count} words, got {len(words)}")
        fmt = {2: "H", 4: "I", 8: "Q"}[spec.size]
        struct.pack_into(f"<{spec.count}{fmt}", out, spec.offset, *words)
    return bytes(out)


@dataclass(frozen=True)
class DecodedField:
    spec: FieldSpec
    value: str  # formatted, "(not dumped)" past debugfs' 144 bytes, or "(missing)"
    words: tuple[int, ...] | None
    meaning: str  # words about the value ("SEC VF", "guest driver loaded", "")


def decode_fields(data: bytes) -> list[DecodedField]:
    """Every acc_vf_data field of `data` (any length), with what its value means."""
    out = []
    for spec in acc_fields_for(data):
        words = spec.words(data)
        meaning = ""
        if words is not None:
            value = words[0]
            if spec.name == "acc_magic":
                magic = acc_magic(data)
                meaning = f"magic {magic.name}" if magic else "NOT a known acc_vf_data magic"
            elif spec.name == "dev_id":
                meaning = ACC_DEVICE_NAMES.get(value, "unknown device id")
            elif spec.name == "vf_qm_state":
                meaning = vf_qm_state_words(value)
            elif spec.name == "major_ver" and value != ACC_DRV_MAJOR_VER:
                meaning = f"destination refuses major version {value} (needs 1)"
            out.append(DecodedField(spec, spec.format(data), words, meaning))
        elif _not_dumped(spec, data):
            out.append(DecodedField(spec, spec.format(data), None, NOT_DUMPED))
        else:
            out.append(DecodedField(spec, spec.format(data), words, meaning))
    return out


def acc_data_size_words(length: int, vf_qm_state: int | None = None) -> str:
    """What a migration data length means for hisi_acc, never contradicting vf_qm_state.

    40 bytes are the match data alone: what vf_qm_state_save() keeps when the
    guest driver is not loaded, and also all that a migration stopped after
    pre-copy ever sent (the device could not be stopped, or it vanished).
    """
    if length == ACC_VF_DATA_SIZE:
        return f"full device state (debugfs dumps its first {ACC_DUMP_SIZE} bytes)"
    if length == QM_MATCH_SIZE:
        if vf_qm_state == QM_NOT_READY:
            return "match data only: the guest driver was not loaded"
        if vf_qm_state == QM_READY:
            return (
                "match data only, with the guest driver loaded: the migration stopped "
                "after pre-copy, before STOP_COPY sent the rest (i reads the mailbox)"
            )
        return "match data only: pre-copy's part, or the guest driver was not loaded"
    return f"{length} bytes: neither 40 (match only) nor 176 (full)"


# --- mtty ------------------------------------------------------------------------------

MTTY_MAGIC: Final = 0x7E9D09898C3E2C4E
MTTY_HEADER_SIZE: Final = 24
MTTY_PORT_SIZE: Final = 36

MTTY_HEADER_FIELDS: Final = (
    FieldSpec("magic", 0x00, 8, note="0x7e9d09898c3e2c4e", in_match_header=True),
    FieldSpec("major_ver", 0x08, 4, note="must be 1", in_match_header=True),
    FieldSpec("minor_ver", 0x0C, 4, note="must be 0", in_match_header=True),
    FieldSpec("nr_ports", 0x10, 4, note="must match the destination", in_match_header=True),
    FieldSpec("flags", 0x14, 4, note="must be 0", in_match_header=True),
)


@dataclass(frozen=True)
class MttyHeader:
    """struct mtty_data's header (samples/vfio-mdev/mtty.c)."""

    magic: int = MTTY_MAGIC
    major_ver: int = 1
    minor_ver: int = 0
    nr_ports: int = 2
    flags: int = 0

    def encode(self) -> bytes:
        return struct.pack(
            "<QIIII", self.magic, self.major_ver, self.minor_ver, self.nr_ports, self.flags
        )

    @property
    def data_size(self) -> int:
        """mtty_data_size(): the whole stream for this many ports."""
        return MTTY_HEADER_SIZE + MTTY_PORT_SIZE * self.nr_ports

    def problems(self, nr_ports: int) -> list[str]:
        """Why mtty_resume_write() would refuse this header on a device with `nr_ports`."""
        found = []
        if self.magic != MTTY_MAGIC:
            found.append(f"magic 0x{self.magic:016x} is not mtty's")
        if self.major_ver != 1 or self.minor_ver != 0:
            found.append(f"version {self.major_ver}.{self.minor_ver}, needs 1.0")
        if self.flags != 0:
            found.append(f"flags 0x{self.flags:x}, needs 0")
        if self.nr_ports != nr_ports:
            found.append(f"{self.nr_ports} ports, the device has {nr_ports}")
        return found


def decode_mtty_header(data: bytes) -> MttyHeader:
    if len(data) < MTTY_HEADER_SIZE:
        raise ValueError(f"the mtty header is {MTTY_HEADER_SIZE} bytes, got {len(data)}")
    return MttyHeader(*struct.unpack_from("<QIIII", data, 0))


def is_mtty_data(data: bytes) -> bool:
    return len(data) >= 8 and struct.unpack_from("<Q", data, 0)[0] == MTTY_MAGIC
