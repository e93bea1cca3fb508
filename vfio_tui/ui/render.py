"""Rich renderables for what a pane shows: features, attributes, migration data, errors.

Nothing here relies on colour alone: every state, flag and difference also has
a word or a mark, so the screen reads the same in monochrome and in copy-paste.
"""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.text import Text

from vfio_tui.model.accdata import (
    ACC_DUMP_SIZE,
    ACC_VF_DATA_SIZE,
    MTTY_HEADER_FIELDS,
    QM_MATCH_SIZE,
    acc_data_size_words,
    decode_fields,
    is_mtty_data,
)
from vfio_tui.model.explain import explain
from vfio_tui.model.formats import (
    FEATURE_WORDS,
    AttrFile,
    DataFile,
    DevDataFile,
    FeaturesFile,
    FormatError,
    IoTestFile,
    MigfDataFile,
    Notice,
    ParsedFile,
    parse_file,
)
from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import FileResult, ReadErrorKind
from vfio_tui.model.states import MigrationState, vf_qm_state_words
from vfio_tui.model.untrusted import printable

S = MigrationState

# symbol, css class, words: the state is always spelled out, the symbol and the
# colour only help.
STATE_LOOK: dict[MigrationState, tuple[str, str]] = {
    S.RUNNING: ("▶", "-running"),
    S.RUNNING_P2P: ("▷", "-running"),
    S.PRE_COPY: ("»", "-transfer"),
    S.PRE_COPY_P2P: ("≫", "-transfer"),
    S.STOP_COPY: ("↑", "-transfer"),
    S.RESUMING: ("↓", "-transfer"),
    S.STOP: ("■", "-stopped"),
    S.ERROR: ("✗", "-error"),
}


def section_title(title: str, detail: str = "") -> Text:
    text = Text(title, style="bold underline")
    if detail:
        text.append(f"  {detail}", style="dim")
    return text


def features(parsed: FeaturesFile) -> Text:
    words = set(parsed.words())
    text = Text()
    for word in FEATURE_WORDS:
        mark = "[x]" if word in words else "[-]"
        text.append(f"{mark}{word} ", style="bold" if word in words else "dim")
    return text


def error_line(path: str, result: FileResult) -> Text:
    assert result.error is not None
    error = result.error
    name = error.errno_name or error.kind.value
    kind = FileKind.from_path(path)
    text = Text(f"✗ {kind.short if kind else printable(path)}: ", style="bold")
    text.append(name, style="bold reverse" if error.kind is ReadErrorKind.TIMED_OUT else "bold")
    meaning = explain(kind, error)
    text.append(f" — {meaning or printable(error.message)}")
    return text


ATTR_LABEL_WIDTH = 20  # "migrate data length" and a space: the values line up


def _attribute(label: str, value: object, words: str = "") -> Text:
    text = Text(f"{label:<{ATTR_LABEL_WIDTH}}{value}")
    if words:
        text.append(f" = {words}")
    return text


def _vf_qm_state(dump: bytes | None) -> int | None:
    """vf_qm_state (offset 0x18) of migration data, if the data reaches it."""
    if dump is None or len(dump) < 0x1C:
        return None
    return int.from_bytes(dump[0x18:0x1C], "little")


def attributes(kind: FileKind, parsed: ParsedFile) -> list[Text]:
    """The driver's attribute lines decoded, vf_qm_state in words."""
    if isinstance(parsed, AttrFile):
        if parsed.notice is not None:
            return [Text(f"attr: {parsed.notice.value}")]
        state = parsed.migration_state
        size = parsed.size or 0
        return [
            _attribute("device state", parsed.state, state.name if state else "unknown"),
            _attribute("device ready", parsed.ready, vf_qm_state_words(parsed.ready or 0)),
            _attribute("data valid", f"{parsed.valid} (the driver's disabled flag)"),
            _attribute("data size", parsed.size, acc_data_size_words(size, parsed.ready)),
        ]
    if isinstance(parsed, DevDataFile):
        load = parsed.guest_driver_load
        return [
            _attribute("guest driver load", load, vf_qm_state_words(load)),
            _attribute("data size", parsed.data_size, acc_data_size_words(parsed.data_size, load)),
        ]
    if isinstance(parsed, MigfDataFile):
        words = acc_data_size_words(parsed.length, _vf_qm_state(parsed.dump))
        return [_attribute("migrate data length", parsed.length, words)]
    return []


def _cell(text: str, width: int) -> list[str]:
    """`text` wrapped to `width` (at spaces where possible), padded to `width`."""
    if width <= 0:
        return [""]
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    return [line.ljust(width) for line in lines]


NAME_W = 14  # the longest field name, ifc_int_source
VALUE_W = 19  # "0xaaccfeeddecadede" and a space
PREFIX_W = 2 + 1 + 1 + NAME_W + 1  # offset, space, match marker, name, space


def _raw_bytes_per_line(width: int) -> int:
    """How many raw bytes fit beside the values: whole 32-bit words, up to 16; 0 if none."""
    room = width - PREFIX_W - VALUE_W - 1
    per_line = min(16, (room + 1) // 3) // 4 * 4
    return per_line if per_line >= 4 else 0


def _row(off: str, name: str, value: str, raw: str, bold: bool) -> Text:
    line = Text(f"{off:<2} {name:<{NAME_W + 1}} {value}", style="bold" if bold else "")
    if raw:
        line.append(f" {raw}", style="dim")
    line.rstrip()
    line.no_wrap = True  # a row never wraps into the offset column; at worst it ends in …
    line.overflow = "ellipsis"
    return line


def data_table(data: bytes, width: int) -> RenderableType:
    """Migration data field by field, with the raw bytes beside them when there is room.

    Laid out by hand (not a rich Table) so that every row keeps its columns at
    any width: a long value wraps inside its column, the raw bytes go in whole
    words, and a narrow pane drops the raw bytes rather than break the rows.
    """
    per_line = _raw_bytes_per_line(width)
    value_w = VALUE_W if per_line else max(12, width - PREFIX_W)
    header = f"{'of':<2} {'field':<{NAME_W + 1}} {'value':<{value_w}}"
    lines = [Text(f"{header} raw bytes" if per_line else header.rstrip(), style="bold")]
    if is_mtty_data(data):
        rows = [(spec, spec.format(data), "") for spec in MTTY_HEADER_FIELDS]
    else:
        rows = [(f.spec, f.value, f.meaning) for f in decode_fields(data)]
    not_dumped = [spec for spec, value, _ in rows if value == "(not dumped)"]
    for spec, value, meaning in rows:
        if spec in not_dumped:
            continue
        marker = "▌" if spec.in_match_header else " "
        values = _cell(f"{value} {meaning}".strip(), value_w)
        chunk = data[spec.offset : spec.end]
        # An array shows one word per value line: its raw bytes go word by word beside them.
        step = spec.size if spec.count > 1 else per_line
        raws = (
            [chunk[i : i + step].hex(" ") for i in range(0, len(chunk), step)] if per_line else []
        )
        for index in range(max(len(values), len(raws))):
            first = index == 0
            lines.append(
                _row(
                    f"{spec.offset:02x}" if first else "",
                    f"{marker}{spec.name}" if first else marker,
                    values[index] if index < len(values) else " " * value_w,
                    raws[index] if index < len(raws) else "",
                    spec.in_match_header,
                )
            )
    if not_dumped:
        start, last = not_dumped[0], not_dumped[-1]
        names = ", ".join(spec.name for spec in not_dumped)
        lines.append(
            Text(
                f"{start.offset:02x}..{last.end - 1:02x} {names}: not in the dump (debugfs "
                f"shows the first {ACC_DUMP_SIZE} of the {ACC_VF_DATA_SIZE} bytes)",
                style="dim",
            )
        )
    if is_mtty_data(data):
        ports = max(0, (len(data) - 24) // 36)
        lines.append(Text(f"then {ports} port(s) of 36 bytes", style="dim"))
    else:
        lines.append(
            Text(
                f"▌ = match header (first {QM_MATCH_SIZE} bytes): the destination "
                "refuses data whose magic, dev_id, qp_num or que_iso_cfg differ",
                style="dim",
            )
        )
    return Group(*lines)


def parse_or_error(kind: FileKind, data: bytes) -> ParsedFile | FormatError:
    try:
        return parse_file(kind, data)
    except FormatError as exc:
        return exc


def one_line_result(kind: FileKind, result: FileResult) -> Text:
    """What an action file printed (or why it failed), in one line."""
    if result.error is not None:
        return error_line(kind.path, result)
    assert result.data is not None
    parsed = parse_or_error(kind, result.data)
    if isinstance(parsed, IoTestFile) and parsed.mailbox is not None:
        ready = "NOT READY" if parsed.mailbox == 0xFFFFFFFF else "ready"
        return Text(f"{kind.short}: mailbox 0x{parsed.mailbox:x} ({ready})")
    lines = result.data.strip().splitlines()
    return Text(f"{kind.short}: {printable(lines[-1], limit=200) if lines else '(empty)'}")


def not_migrated(parsed: ParsedFile) -> bool:
    return isinstance(parsed, DataFile | AttrFile) and parsed.notice is Notice.NOT_MIGRATED
