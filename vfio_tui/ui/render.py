"""Rich renderables for what a pane shows: features, attributes, migration data, errors.

Nothing here relies on colour alone: every state, flag and difference also has
a word or a mark, so the screen reads the same in monochrome and in copy-paste.
"""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.text import Text

from vfio_tui.model.accdata import (
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
    text = Text(f"✗ {kind.short if kind else path}: ", style="bold")
    text.append(name, style="bold reverse" if error.kind is ReadErrorKind.TIMED_OUT else "bold")
    meaning = explain(kind, error)
    text.append(f" — {meaning or error.message}")
    return text


def attributes(kind: FileKind, parsed: ParsedFile) -> list[Text]:
    """The driver's attribute lines decoded, vf_qm_state in words."""
    lines: list[Text] = []
    if isinstance(parsed, AttrFile):
        if parsed.notice is not None:
            return [Text(f"attr: {parsed.notice.value}")]
        state = parsed.migration_state
        lines.append(Text(f"device state  {parsed.state} = {state.name if state else 'unknown'}"))
        lines.append(Text(f"device ready  {parsed.ready} = {vf_qm_state_words(parsed.ready or 0)}"))
        lines.append(Text(f"data valid    {parsed.valid} (the driver's `disabled` flag)"))
        lines.append(Text(f"data size     {parsed.size} = {acc_data_size_words(parsed.size or 0)}"))
    elif isinstance(parsed, DevDataFile):
        lines.append(
            Text(
                f"guest driver load  {parsed.guest_driver_load} = "
                f"{vf_qm_state_words(parsed.guest_driver_load)}"
            )
        )
        lines.append(Text(f"data size          {parsed.data_size}"))
    elif isinstance(parsed, MigfDataFile):
        lines.append(
            Text(f"migrate data length  {parsed.length} = {acc_data_size_words(parsed.length)}")
        )
    return lines


def _cell(text: str, width: int) -> list[str]:
    """`text` wrapped to `width` (at spaces where possible), padded to `width`."""
    if width <= 0:
        return [""]
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    return [line.ljust(width) for line in lines]


def data_table(data: bytes, width: int) -> RenderableType:
    """Migration data field by field, with the raw bytes beside them when there is room.

    Laid out by hand (not a rich Table) so that a wrapped value stays in its column.
    """
    field_w, value_w = 16, 19
    raw_w = width - (2 + 1 + field_w + 1 + value_w + 1)
    if raw_w < 12:  # no room for raw bytes: give the value the rest
        raw_w = 0
        value_w = max(12, width - (2 + 1 + field_w + 1))
    else:
        raw_w -= raw_w % 3 - 2 if raw_w % 3 else 1  # whole "xx " groups
    header = Text(f"{'of':<2} {'field':<{field_w}} {'value':<{value_w}}", style="bold")
    if raw_w:
        header.append(f" {'raw bytes'}", style="bold")
    lines = [header]
    if is_mtty_data(data):
        rows = [(spec, spec.format(data), "") for spec in MTTY_HEADER_FIELDS]
    else:
        rows = [(f.spec, f.value, f.meaning) for f in decode_fields(data)]
    for spec, value, meaning in rows:
        marker = "▌" if spec.in_match_header else " "
        shown = f"{value} {meaning}".strip()
        values = _cell(shown, value_w)
        raws = _cell(data[spec.offset : spec.end].hex(" "), raw_w) if raw_w else []
        for index in range(max(len(values), len(raws))):
            first = index == 0
            off = f"{spec.offset:02x}" if first else "  "
            name = f"{marker}{spec.name}" if first else marker
            value_part = values[index] if index < len(values) else " " * value_w
            line = Text(
                f"{off} {name:<{field_w}} {value_part}",
                style="bold" if spec.in_match_header else "",
            )
            if raws:
                line.append(f" {raws[index] if index < len(raws) else ''}".rstrip(), style="dim")
            line.rstrip()
            lines.append(line)
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
    lines = result.data.decode("ascii", "replace").strip().splitlines()
    return Text(f"{kind.short}: {lines[-1] if lines else '(empty)'}")


def not_migrated(parsed: ParsedFile) -> bool:
    return isinstance(parsed, DataFile | AttrFile) and parsed.notice is Notice.NOT_MIGRATED
