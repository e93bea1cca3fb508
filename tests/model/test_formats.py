"""Every debugfs format: the kernel's exact text, round trips, and garbage in."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vfio_tui.model.formats import (
    AttrFile,
    CmdStateFile,
    DataFile,
    DevDataFile,
    FeaturesFile,
    FormatError,
    IoTestFile,
    MigfDataFile,
    Notice,
    SaveFile,
    StateDialect,
    StateFile,
    parse_file,
    parse_state,
    render_hexdump,
)
from vfio_tui.model.layout import FileKind
from vfio_tui.model.states import MigrationFlags, MigrationState

# --- exact text, as the kernel prints it -------------------------------------------------

REFERENCE_ROW = "Mig Data:00000000: de de ca de ed fe cc aa 04 00 00 00 56 a2 00 00"


def test_hexdump_row_matches_the_reference() -> None:
    data = bytes.fromhex("dedecadeedfeccaa0400000056a20000")
    assert render_hexdump(data, "Mig Data:") == [REFERENCE_ROW]


def test_short_last_row_has_no_trailing_space() -> None:
    rows = render_hexdump(bytes(range(18)), "Dev Data:")
    assert rows[1] == "Dev Data:00000010: 10 11"


def test_migf_data_full_text() -> None:
    text = MigfDataFile(bytes(144), 176).render().decode()
    lines = text.splitlines()
    assert len(lines) == 10
    assert lines[8].startswith("Mig Data:00000080: 00")
    assert lines[9] == "migrate data length: 176"
    assert text.endswith("\n")


def test_dev_data_trailer() -> None:
    text = DevDataFile(bytes(144), 1, 176).render().decode()
    assert text.splitlines()[-2:] == ["guest driver load: 1", "data size: 176"]


def test_attr_exact_text() -> None:
    assert AttrFile(3, 0, 0, 176).render() == (
        b"acc device:\ndevice  state: 3\ndevice  ready: 0\ndata    valid: 0\ndata     size: 176\n"
    )
    assert AttrFile(notice=Notice.NOT_MIGRATED).render() == b"device not migrated!\n"


def test_one_line_files() -> None:
    assert IoTestFile(mailbox=0).render() == b"debug mailbox val:0x0\n"
    assert IoTestFile(mailbox=0xFFFFFFFF).render() == b"debug mailbox val:0xffffffff\n"
    assert SaveFile(Notice.SAVE_OK).render() == b"successful to save device data!\n"
    assert CmdStateFile().render() == b"mailbox cmd channel ready!\n"
    assert FeaturesFile(MigrationFlags(7), True).render() == (
        b"stop-copy\np2p\npre-copy\ndirty-tracking\n"
    )
    assert FeaturesFile(MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY, False).render() == (
        b"stop-copy\npre-copy\n"
    )


def test_state_labels_and_the_2023_quirk() -> None:
    assert StateFile.of(MigrationState.RUNNING_P2P).render() == b"RUNNING_P2P\n"
    old = StateDialect.V11_2023
    assert StateFile.of(MigrationState.RUNNING_P2P, old).render() == b"RESUMING_P2P\n"
    assert StateFile.of(MigrationState.PRE_COPY, old).render() == b"Invalid\n"
    parsed = parse_state(b"RESUMING_P2P\n")
    assert parsed.state is MigrationState.RUNNING_P2P
    assert parsed.note is not None and "2023" in parsed.note
    invalid = parse_state(b"Invalid\n")
    assert invalid.state is None and invalid.note is not None


# --- errors say which line and why ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "line", "reason"),
    [
        (FileKind.STATE, b"RUNING\n", 1, "not a migration state name"),
        (FileKind.STATE, b"RUNNING", 1, "no newline"),
        (FileKind.STATE, b"", None, "empty"),
        (FileKind.FEATURES, b"p2p\nstop-copy\n", 2, "order"),
        (FileKind.FEATURES, b"p2p\n", 1, "no stop-copy"),
        (FileKind.MIGF_DATA, b"Mig Data:00000000: 00 01\nMig Data:00000010: 00\n", 1, "short row"),
        (FileKind.MIGF_DATA, b"Mig Data:00000000: 00\n", 2, "migrate data length"),
        (FileKind.MIGF_DATA, b"Mig Data:00000020: 00\nmigrate data length: 1\n", 1, "offset"),
        (
            FileKind.DEV_DATA,
            b"Dev Data:00000000: 0A\nguest driver load: 0\ndata size: 176\n",
            1,
            "lowercase",
        ),
        (FileKind.ATTR, b"acc device:\ndevice  state: 3\n", 3, "device  ready"),
        (FileKind.IO_TEST, b"debug mailbox val:0x00\n", 1, "not a message"),
        (FileKind.STATE, b"RUN\xc3\xa9\n", 1, "not ASCII"),
    ],
)
def test_format_errors_name_the_line(
    kind: FileKind, data: bytes, line: int | None, reason: str
) -> None:
    with pytest.raises(FormatError) as caught:
        parse_file(kind, data)
    assert caught.value.line == line
    assert reason in str(caught.value)
    assert kind.short in str(caught.value)


# --- round trips (property tests) ----------------------------------------------------------

u32 = st.integers(0, 2**32 - 1)
# Sizes drawn first, so multi-row dumps (a full 144-byte acc_vf_data is 9 rows) and short last
# rows are common rather than rare; st.binary alone draws a few bytes at most.
dump_sizes = st.one_of(
    st.integers(1, 16), st.integers(17, 300), st.sampled_from([32, 40, 96, 143, 144, 176])
)
dumps = dump_sizes.flatmap(lambda n: st.binary(min_size=n, max_size=n))
notices = st.sampled_from(Notice)

state_files = st.builds(
    StateFile.of, st.none() | st.sampled_from(MigrationState), st.sampled_from(StateDialect)
)
feature_files = st.builds(
    FeaturesFile,
    st.sampled_from([MigrationFlags(1), MigrationFlags(3), MigrationFlags(5), MigrationFlags(7)]),
    st.booleans(),
)
attr_files = st.builds(
    AttrFile, st.integers(-(2**31), 2**31 - 1), u32, st.integers(-1, 1), st.integers(0, 2**64 - 1)
) | st.just(AttrFile(notice=Notice.NOT_MIGRATED))
data_files = st.builds(DataFile, dumps) | st.just(DataFile(None, Notice.NOT_MIGRATED))
save_files = st.builds(
    SaveFile,
    st.sampled_from(
        [
            Notice.SAVE_OK,
            Notice.SAVE_FAILED,
            Notice.NOT_OPENED,
            Notice.NO_MIGRATION,
            Notice.NO_DEBUGFS,
        ]
    ),
)
io_test_files = st.builds(IoTestFile, st.integers(0, 2**64 - 1)) | st.builds(
    IoTestFile,
    st.none(),
    st.sampled_from([Notice.VF_NOT_READY, Notice.NOT_OPENED, Notice.NO_MIGRATION]),
)
dev_data_files = st.builds(DevDataFile, dumps, u32, st.integers(0, 2**64 - 1))
migf_data_files = st.builds(MigfDataFile, dumps, st.integers(0, 2**64 - 1))

ALL_FILES = {
    FileKind.STATE: state_files,
    FileKind.FEATURES: feature_files,
    FileKind.ATTR: attr_files,
    FileKind.DATA: data_files,
    FileKind.SAVE: save_files,
    FileKind.IO_TEST: io_test_files,
    FileKind.DEV_DATA: dev_data_files,
    FileKind.MIGF_DATA: migf_data_files,
    FileKind.CMD_STATE: st.just(CmdStateFile()),
}

any_file = st.one_of(*[st.tuples(st.just(kind), strategy) for kind, strategy in ALL_FILES.items()])


@given(st.sampled_from([FileKind.DATA, FileKind.DEV_DATA, FileKind.MIGF_DATA]), dumps)
def test_multi_row_dumps_round_trip(kind: FileKind, dump: bytes) -> None:
    """Every row but the last is full, offsets count up by 16, and the bytes come back."""
    value = {
        FileKind.DATA: DataFile(dump),
        FileKind.DEV_DATA: DevDataFile(dump, 0, 176),
        FileKind.MIGF_DATA: MigfDataFile(dump, 176),
    }[kind]
    text = value.render()
    rows = [r for r in text.decode().splitlines() if r[:9] in ("Mig Data:", "Dev Data:")]
    assert len(rows) == -(-len(dump) // 16)
    for index, row in enumerate(rows):
        assert row[9:19] == f"{index * 16:08x}: "
        count = len(row[19:].split(" "))
        assert count == (16 if index < len(rows) - 1 else len(dump) - 16 * index)
    assert parse_file(kind, text) == value


def test_a_whole_acc_dump_is_nine_rows_as_the_kernel_prints() -> None:
    rows = DataFile(bytes(range(144))).render().decode().splitlines()
    assert len(rows) == 9
    assert rows[0] == "Mig Data:00000000: " + " ".join(f"{i:02x}" for i in range(16))
    assert rows[8] == "Mig Data:00000080: " + " ".join(f"{i:02x}" for i in range(128, 144))


@given(any_file)
def test_render_then_parse_is_exact(item: tuple[FileKind, object]) -> None:
    kind, value = item
    text = value.render()  # type: ignore[attr-defined]
    parsed = parse_file(kind, text)
    assert parsed == value
    assert parsed.render() == text


@given(st.sampled_from(FileKind), st.binary(max_size=400))
@example(FileKind.MIGF_DATA, b"Mig Data:00000000: 00\n\n")
@example(FileKind.ATTR, b"acc device:\n")
def test_garbage_raises_only_format_error(kind: FileKind, data: bytes) -> None:
    try:
        parsed = parse_file(kind, data)
    except FormatError:
        return
    # Whatever is accepted is the kernel's canonical text: rendering gives it back.
    assert parsed.render() == data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[FileKind, bytes]:
    kind, value = draw(any_file)
    data = bytearray(value.render())  # type: ignore[attr-defined]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = bytes([draw(st.sampled_from(b" \n0aAz:-\x00\xff"))])
        elif data:
            at = min(at, len(data) - 1)
            if op == "flip":
                data[at] ^= 1 << draw(st.integers(0, 7))
            else:
                del data[at]
    return kind, bytes(data)


@given(mutated())
def test_mutated_files_parse_exactly_or_fail_typed(item: tuple[FileKind, bytes]) -> None:
    kind, data = item
    try:
        parsed = parse_file(kind, data)
    except FormatError as exc:
        assert exc.what == kind.short
        return
    assert parsed.render() == data
