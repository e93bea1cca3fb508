"""What the parsers refuse, and why: nothing after a complete file, no sign where the kernel
prints unsigned, no repeated feature word. Each refusal names the file, the line and reason.

The texts are written out as the kernel prints them (kernel-debugfs.md section 2), not
rendered by the code under test.
"""

from __future__ import annotations

import pytest

from vfio_tui.model.formats import (
    AttrFile,
    FormatError,
    Notice,
    parse_attr,
    parse_data,
    parse_dev_data,
    parse_features,
    parse_file,
    parse_migf_data,
)
from vfio_tui.model.layout import FileKind
from vfio_tui.model.states import MigrationFlags

ROW0 = "00000000: de de ca de ed fe cc aa 04 00 00 00 56 a2 00 00"
ROW1 = "00000010: 01 00 00 00 40 00 00 00 00 00 00 00 01 00 00 00"
DATA = f"Mig Data:{ROW0}\nMig Data:{ROW1}\n"
DEV_DATA = f"Dev Data:{ROW0}\nDev Data:{ROW1}\nguest driver load: 0\ndata size: 176\n"
MIGF_DATA = f"{DATA}migrate data length: 176\n"
ATTR = "acc device:\ndevice  state: 3\ndevice  ready: 0\ndata    valid: 0\ndata     size: 176\n"


def test_the_kernel_texts_parse() -> None:
    """The baseline for the refusals below: the same texts without the slip are accepted."""
    dump = bytes.fromhex(ROW0[10:].replace(" ", "") + ROW1[10:].replace(" ", ""))
    assert parse_data(DATA.encode()).dump == dump
    dev = parse_dev_data(DEV_DATA.encode())
    assert (dev.dump, dev.guest_driver_load, dev.data_size) == (dump, 0, 176)
    migf = parse_migf_data(MIGF_DATA.encode())
    assert (migf.dump, migf.length) == (dump, 176)
    assert parse_attr(ATTR.encode()) == AttrFile(3, 0, 0, 176)
    assert parse_attr(b"device not migrated!\n") == AttrFile(notice=Notice.NOT_MIGRATED)
    assert parse_data(b"device not migrated!\n").notice is Notice.NOT_MIGRATED
    # state and valid are printed with %d: a negative value is the kernel's text.
    negative = ATTR.replace("state: 3", "state: -1").replace("valid: 0", "valid: -1")
    assert parse_attr(negative.encode()) == AttrFile(-1, 0, -1, 176)


def _refused(kind: FileKind, text: str) -> FormatError:
    try:
        parsed = parse_file(kind, text.encode())
    except FormatError as caught:
        error = caught
    else:
        pytest.fail(f"{kind.short} accepted {text!r} as {parsed!r}")
    assert error.what == kind.short, str(error)
    return error


COMPLETE = [
    (FileKind.DATA, DATA, 3),
    (FileKind.DATA, "device not migrated!\n", 2),
    (FileKind.DEV_DATA, DEV_DATA, 5),
    (FileKind.MIGF_DATA, MIGF_DATA, 4),
    (FileKind.ATTR, ATTR, 6),
    (FileKind.ATTR, "device not migrated!\n", 2),
]
EXTRA = ["data     size: 176", "", "Dev Data:00000020: 00", "Mig Data:00000020: 00"]


@pytest.mark.parametrize(
    ("kind", "complete", "after", "extra"),
    [
        (kind, complete, after, extra)
        for kind, complete, after in COMPLETE
        for extra in EXTRA
        if complete != DATA or not extra.startswith("Mig Data:")  # that row continues a dump
    ],
)
def test_a_line_after_a_complete_file_is_refused(
    kind: FileKind, complete: str, after: int, extra: str
) -> None:
    error = _refused(kind, f"{complete}{extra}\n")
    assert error.reason == "unexpected line after the end", str(error)
    assert (error.line, error.text) == (after, extra)


@pytest.mark.parametrize(
    ("label", "line"),
    [("device  ready", 3), ("data     size", 5)],
)
@pytest.mark.parametrize("value", ["-1", "-176", "-0"])
def test_a_sign_in_an_unsigned_attr_field_is_refused(label: str, line: int, value: str) -> None:
    text = ATTR.replace(f"{label}: {'0' if line == 3 else '176'}", f"{label}: {value}")
    error = _refused(FileKind.ATTR, text)
    assert error.reason == f"expected `{label}: N`", str(error)
    assert (error.line, error.text) == (line, f"{label}: {value}")


@pytest.mark.parametrize("label", ["device  state", "data    valid"])
def test_minus_zero_is_not_what_percent_d_prints(label: str) -> None:
    text = ATTR.replace(f"{label}: {'3' if 'state' in label else '0'}", f"{label}: -0")
    assert _refused(FileKind.ATTR, text).reason == f"expected `{label}: N`"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("stop-copy\nstop-copy\n", 2),
        ("stop-copy\npre-copy\npre-copy\n", 3),
        ("stop-copy\np2p\npre-copy\ndirty-tracking\ndirty-tracking\n", 5),
        ("stop-copy\np2p\np2p\npre-copy\n", 3),
    ],
)
def test_a_repeated_feature_word_is_refused(text: str, line: int) -> None:
    error = _refused(FileKind.FEATURES, text)
    assert error.reason == "repeated or out of the kernel's order", str(error)
    assert error.line == line


def test_features_in_the_kernel_order_parse() -> None:
    parsed = parse_features(b"stop-copy\np2p\npre-copy\ndirty-tracking\n")
    assert parsed.flags == MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY
    assert parsed.dirty_tracking
    hisi = parse_features(b"stop-copy\npre-copy\n")
    assert hisi.flags == MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY
    assert not hisi.dirty_tracking


@pytest.mark.parametrize(
    ("kind", "text", "line", "reason"),
    [
        (FileKind.STATE, "RUNNING\nSTOP\n", 2, "expected one line, found 2"),
        (FileKind.STATE, "running\n", 1, "not a migration state name"),
        (FileKind.FEATURES, "stop-copy\ndirty\n", 2, "not a feature name"),
        (FileKind.FEATURES, "pre-copy\n", 1, "no stop-copy line: every migratable device has it"),
        (FileKind.DATA, "device not opened!\n", 1, "not a message this file prints"),
        (FileKind.DATA, "Mig Data:00000000: 00 \n", 1, "not a row of"),
        (FileKind.DATA, "Mig Data: 00000000: 00\n", 1, "not a row of"),
        (FileKind.DATA, "Mig Data:00000010: 00\n", 1, "offset 0x10 where 0x0 was due"),
        (FileKind.DEV_DATA, f"Mig Data:{ROW0}\n", 1, "expected a 'Dev Data:' hex dump row"),
        (FileKind.DEV_DATA, f"Dev Data:{ROW0}\ndata size: 176\n", 2, "guest driver load"),
        (FileKind.DEV_DATA, f"Dev Data:{ROW0}\nguest driver load: 0\n", 3, "data size"),
        (FileKind.DEV_DATA, f"Dev Data:{ROW0}\nguest driver load: 01\n", 2, "expected `guest"),
        (FileKind.MIGF_DATA, f"{DATA}migrate data length: -40\n", 3, "expected `migrate"),
        (FileKind.ATTR, "acc device:\ndevice state: 3\n", 2, "expected `device  state: N`"),
        (FileKind.ATTR, ATTR.replace("device  ready", "data    valid", 1), 3, "device  ready"),
        (FileKind.SAVE, "saved!\n", 1, "not a message this file prints"),
        (FileKind.IO_TEST, "debug mailbox val:0xFF\n", 1, "not a message this file prints"),
        (FileKind.CMD_STATE, "mailbox cmd channel ready\n", 1, "expected 'mailbox cmd"),
    ],
)
def test_each_refusal_names_line_and_reason(
    kind: FileKind, text: str, line: int, reason: str
) -> None:
    error = _refused(kind, text)
    assert error.line == line, str(error)
    assert reason in error.reason, f"{error.reason!r} does not say {reason!r}"
    assert str(error).startswith(f"{kind.short} line {line}: {error.reason}")
