"""What a pane draws from migration data, at every width: columns kept, nothing cut."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from vfio_tui.model.accdata import ACC_DUMP_SIZE, AccVfData, encode_acc_vf_data
from vfio_tui.model.formats import AttrFile
from vfio_tui.model.layout import FileKind
from vfio_tui.ui import render

DUMP = encode_acc_vf_data(
    AccVfData(qm_eqc_dw=tuple(range(0x11111111, 0x11111111 + 7)))  # type: ignore[call-arg]
)[:ACC_DUMP_SIZE]


def lines_at(width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(render.data_table(DUMP, width))
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [38, 56, 78, 98, 120, 200])
def test_field_rows_keep_their_columns_at_every_width(width: int) -> None:
    lines = lines_at(width)
    assert all(len(line) <= width for line in lines)
    notes = next(i for i, line in enumerate(lines) if line.startswith("90..af"))
    for line in lines[1:notes]:
        # the offset column holds an offset or nothing: never a wrapped raw byte
        assert re.fullmatch(r"[0-9a-f]{2} |   ", line[:3]), line
    assert lines[1].startswith("00 ▌acc_magic")
    full = " ".join(" ".join(lines).split())
    assert "0xaaccfeeddecadede" in full  # never cut
    assert "(missing)" not in full and "not in the dump" in full
    assert ("raw bytes" in lines[0]) == (width >= 56)  # narrow: the raw column goes


def test_raw_bytes_go_word_by_word_beside_an_array() -> None:
    lines = lines_at(120)
    start = next(i for i, line in enumerate(lines) if "qm_eqc_dw" in line)
    words = lines[start : start + 7]
    assert all(line.rstrip().endswith(" 11") or "11 11" in line for line in words), words


def test_attribute_values_line_up_and_show_no_backticks() -> None:
    attr = AttrFile(state=2, ready=0, valid=0, size=176)  # type: ignore[call-arg]
    shown = [line.plain for line in render.attributes(FileKind.ATTR, attr)]
    columns = {line.index(line.split()[2]) for line in shown}
    assert len(columns) == 1, shown
    assert not any("`" in line for line in shown)
