"""Parsers and renderers for every debugfs file, byte for byte as the kernel writes them.

Each file parses into a small frozen value whose render() gives back the exact
bytes. Anything else raises FormatError, which names the file, the line and
what is wrong with it. Sources: drivers/vfio/debugfs.c (state, features),
lib/seq_file.c seq_hex_dump() with lib/hexdump.c (the dumps), the 2023 series
"add debugfs to migration driver" v11 (attr, data, save, io_test) and mainline
6.13 drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c (dev_data, migf_data,
cmd_state).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from vfio_tui.model.layout import FileKind
from vfio_tui.model.states import MigrationFlags, MigrationState


class FormatError(ValueError):
    """Content that is not what the kernel writes. Says which line and why."""

    def __init__(self, what: str, reason: str, line: int | None = None, text: str | None = None):
        where = f" line {line}" if line is not None else ""
        shown = f": {text[:80]!r}" if text is not None else ""
        super().__init__(f"{what}{where}: {reason}{shown}")
        self.what = what
        self.reason = reason
        self.line = line
        self.text = text


def _lines(what: str, data: bytes) -> list[str]:
    """The lines of a text file (without their newlines); every line must end in \\n."""
    if not data:
        raise FormatError(what, "empty file")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(what, f"byte 0x{data[exc.start]:02x} is not ASCII text", line) from None
    if not text.endswith("\n"):
        last = text.rsplit("\n")[-1]
        raise FormatError(what, "no newline at the end", text.count("\n") + 1, last)
    lines = text[:-1].split("\n")
    for index, row in enumerate(lines, 1):
        if "\r" in row or "\0" in row:
            raise FormatError(what, "control character in line", index, row)
    return lines


def _one_line(what: str, data: bytes) -> str:
    lines = _lines(what, data)
    if len(lines) != 1:
        raise FormatError(what, f"expected one line, found {len(lines)}", 2, lines[1])
    return lines[0]


# --- state -----------------------------------------------------------------------------


class StateDialect(enum.Enum):
    """How a kernel prints the state: mainline, or the 2023 v11 patch's quirks."""

    MAINLINE = "mainline"
    V11_2023 = "v11-2023"  # RUNNING_P2P printed as RESUMING_P2P, PRE_COPY* as Invalid


INVALID_LABEL: Final = "Invalid"
V11_RUNNING_P2P_LABEL: Final = "RESUMING_P2P"


@dataclass(frozen=True)
class StateFile:
    """The `state` file: the state as read, and the exact label the kernel printed."""

    state: MigrationState | None
    label: str

    @property
    def note(self) -> str | None:
        """What a surprising label means, in words."""
        if self.label == V11_RUNNING_P2P_LABEL:
            return "RESUMING_P2P is how the 2023 v11 core patch printed RUNNING_P2P"
        if self.label == INVALID_LABEL:
            return (
                "the driver reported a state number the kernel cannot name "
                "(on a 2023 v11 kernel: PRE_COPY or PRE_COPY_P2P)"
            )
        return None

    def render(self) -> bytes:
        return f"{self.label}\n".encode("ascii")

    @classmethod
    def of(
        cls, state: MigrationState | None, dialect: StateDialect = StateDialect.MAINLINE
    ) -> StateFile:
        """What a kernel of `dialect` prints for `state` (None: a number it cannot name)."""
        if state is None:
            return cls(None, INVALID_LABEL)
        if dialect is StateDialect.V11_2023:
            if state is MigrationState.RUNNING_P2P:
                return cls(state, V11_RUNNING_P2P_LABEL)
            if state in (MigrationState.PRE_COPY, MigrationState.PRE_COPY_P2P):
                return cls(None, INVALID_LABEL)
        return cls(state, state.name)


def parse_state(data: bytes) -> StateFile:
    line = _one_line("state", data)
    if line == INVALID_LABEL:
        return StateFile(None, line)
    if line == V11_RUNNING_P2P_LABEL:
        return StateFile(MigrationState.RUNNING_P2P, line)
    try:
        return StateFile(MigrationState[line], line)
    except KeyError:
        raise FormatError("state", "not a migration state name", 1, line) from None


# --- features --------------------------------------------------------------------------

FEATURE_WORDS: Final = ("stop-copy", "p2p", "pre-copy", "dirty-tracking")


@dataclass(frozen=True)
class FeaturesFile:
    """The `features` file (6.18+): the migration flags, and dirty tracking (log_ops)."""

    flags: MigrationFlags
    dirty_tracking: bool

    def words(self) -> list[str]:
        return self.flags.words() + (["dirty-tracking"] if self.dirty_tracking else [])

    def render(self) -> bytes:
        return "".join(f"{w}\n" for w in self.words()).encode("ascii")


def parse_features(data: bytes) -> FeaturesFile:
    lines = _lines("features", data)
    flags = MigrationFlags(0)
    dirty = False
    last = -1
    for number, line in enumerate(lines, 1):
        if line not in FEATURE_WORDS:
            raise FormatError("features", "not a feature name", number, line)
        index = FEATURE_WORDS.index(line)
        if index <= last:
            raise FormatError("features", "repeated or out of the kernel's order", number, line)
        last = index
        if line == "dirty-tracking":
            dirty = True
        else:
            flags |= MigrationFlags.parse(line)
    if MigrationFlags.STOP_COPY not in flags:
        # vfio_main.c refuses to register a migration driver without STOP_COPY.
        reason = "no stop-copy line: every migratable device has it"
        raise FormatError("features", reason, 1, lines[0])
    return FeaturesFile(flags, dirty)


# --- hex dumps -------------------------------------------------------------------------

MIG_DATA_PREFIX: Final = "Mig Data:"
DEV_DATA_PREFIX: Final = "Dev Data:"
ROW_BYTES: Final = 16
_ROW = re.compile(r"([0-9a-f]{8}): ([0-9a-f]{2}(?: [0-9a-f]{2}){0,15})")


def render_hexdump(data: bytes, prefix: str) -> list[str]:
    """seq_hex_dump(prefix, DUMP_PREFIX_OFFSET, 16, 1, data, len, false), as lines."""
    rows = []
    for offset in range(0, len(data), ROW_BYTES):
        chunk = data[offset : offset + ROW_BYTES]
        rows.append(f"{prefix}{offset:08x}: {chunk.hex(' ')}")
    return rows


def parse_hexdump_rows(what: str, lines: list[str], prefix: str, first_line: int = 1) -> bytes:
    """The bytes of consecutive hex dump rows; only the last row may be short."""
    out = bytearray()
    for index, line in enumerate(lines):
        number = first_line + index
        if not line.startswith(prefix):
            raise FormatError(what, f"row does not start with {prefix!r}", number, line)
        match = _ROW.fullmatch(line, len(prefix))
        if match is None:
            raise FormatError(
                what, "not a row of `offset: xx xx ...` (lowercase hex, 1..16 bytes)", number, line
            )
        if len(out) % ROW_BYTES:
            short = lines[index - 1]
            raise FormatError(what, "a short row that is not the last", number - 1, short)
        offset = int(match.group(1), 16)
        if offset != len(out):
            raise FormatError(what, f"offset {offset:#x} where {len(out):#x} was due", number, line)
        out += bytes.fromhex(match.group(2))
    return bytes(out)


def _split_dump(what: str, lines: list[str], prefix: str) -> tuple[bytes, list[str]]:
    """A dump at the top of a file, and the lines after it."""
    end = 0
    while end < len(lines) and lines[end].startswith(prefix):
        end += 1
    if end == 0:
        raise FormatError(what, f"expected a {prefix!r} hex dump row", 1, lines[0])
    return parse_hexdump_rows(what, lines[:end], prefix), lines[end:]


def _trailer(what: str, lines: list[str], first_line: int, label: str) -> int:
    """A `label: N` line (decimal, as %u / %lu print it)."""
    if not lines:
        raise FormatError(what, f"missing the `{label}: N` line", first_line)
    line = lines[0]
    match = re.fullmatch(re.escape(label) + r": (0|[1-9][0-9]*)", line)
    if match is None:
        raise FormatError(what, f"expected `{label}: N`", first_line, line)
    return int(match.group(1))


def _no_more(what: str, lines: list[str], first_line: int) -> None:
    if lines:
        raise FormatError(what, "unexpected line after the end", first_line, lines[0])


# --- one-line messages of the 2023 series ----------------------------------------------


class Notice(enum.Enum):
    """The one-line messages the 2023 hisi_acc files print instead of data.

    Every 2023 read returns success, so this text is what `cat` shows.
    """

    NOT_MIGRATED = "device not migrated!"
    NOT_OPENED = "device not opened!"
    NO_MIGRATION = "device does not support live migration!"  # v12
    NO_DEBUGFS = "device not support debugfs!"  # v10
    VF_NOT_READY = "VF device not ready!"
    SAVE_OK = "successful to save device data!"
    SAVE_FAILED = "failed to save device data!"

    def render(self) -> bytes:
        return f"{self.value}\n".encode("ascii")


_PRECHECK = (Notice.NOT_OPENED, Notice.NO_MIGRATION, Notice.NO_DEBUGFS)


def _notice(what: str, line: str, allowed: tuple[Notice, ...], number: int = 1) -> Notice:
    for notice in allowed:
        if line == notice.value:
            return notice
    raise FormatError(what, "not a message this file prints", number, line)


# --- the 2023 hisi_acc files -----------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """2023 `data`: the hex dump of the last saved or migrated data, or a notice."""

    dump: bytes | None
    notice: Notice | None = None

    def render(self) -> bytes:
        if self.dump is None:
            assert self.notice is not None
            return self.notice.render()
        return "".join(f"{row}\n" for row in render_hexdump(self.dump, MIG_DATA_PREFIX)).encode()


def parse_data(data: bytes) -> DataFile:
    lines = _lines("data", data)
    if not lines[0].startswith(MIG_DATA_PREFIX):
        _no_more("data", lines[1:], 2)
        return DataFile(None, _notice("data", lines[0], (Notice.NOT_MIGRATED,)))
    dump, rest = _split_dump("data", lines, MIG_DATA_PREFIX)
    _no_more("data", rest, len(lines) - len(rest) + 1)
    return DataFile(dump)


ATTR_LABELS: Final = ("device  state", "device  ready", "data    valid", "data     size")


@dataclass(frozen=True)
class AttrFile:
    """2023 `attr`: five lines about the last saved or migrated data, or a notice.

    `state` is the enum number of the migration state (mig_state, printed %d),
    `ready` is vf_qm_state (0 means the guest driver is loaded), `valid` is the
    migration file's `disabled` flag (0 in every normal case), `size` is 40 or 176.
    """

    state: int | None = None
    ready: int | None = None
    valid: int | None = None
    size: int | None = None
    notice: Notice | None = None

    @property
    def migration_state(self) -> MigrationState | None:
        try:
            return MigrationState(self.state) if self.state is not None else None
        except ValueError:
            return None

    def render(self) -> bytes:
        if self.notice is not None:
            return self.notice.render()
        values = (self.state, self.ready, self.valid, self.size)
        pairs = zip(ATTR_LABELS, values, strict=True)
        body = "".join(f"{label}: {value}\n" for label, value in pairs)
        return f"acc device:\n{body}".encode("ascii")


def parse_attr(data: bytes) -> AttrFile:
    lines = _lines("attr", data)
    if lines[0] != "acc device:":
        _no_more("attr", lines[1:], 2)
        return AttrFile(notice=_notice("attr", lines[0], (Notice.NOT_MIGRATED,)))
    values: list[int] = []
    for index, label in enumerate(ATTR_LABELS):
        number = index + 2
        if number > len(lines):
            raise FormatError("attr", f"missing the `{label}: N` line", number)
        line = lines[number - 1]
        # state and valid are printed with %d, so they may be negative.
        signed = label in ("device  state", "data    valid")
        pattern = r"(-?(?:0|[1-9][0-9]*))" if signed else r"(0|[1-9][0-9]*)"
        match = re.fullmatch(re.escape(label) + ": " + pattern, line)
        if match is None or match.group(1) == "-0":
            raise FormatError("attr", f"expected `{label}: N`", number, line)
        values.append(int(match.group(1)))
    _no_more("attr", lines[5:], 6)
    state, ready, valid, size = values
    return AttrFile(state, ready, valid, size)


@dataclass(frozen=True)
class SaveFile:
    """2023 `save`: whether the driver saved the device data (or why it could not)."""

    notice: Notice

    @property
    def saved(self) -> bool:
        return self.notice is Notice.SAVE_OK

    def render(self) -> bytes:
        return self.notice.render()


def parse_save(data: bytes) -> SaveFile:
    line = _one_line("save", data)
    return SaveFile(_notice("save", line, (Notice.SAVE_OK, Notice.SAVE_FAILED, *_PRECHECK)))


MAILBOX_NOT_READY: Final = 0xFFFFFFFF
_MAILBOX = re.compile(r"debug mailbox val:0x(0|[1-9a-f][0-9a-f]{0,15})")


@dataclass(frozen=True)
class IoTestFile:
    """2023 `io_test`: the mailbox register (0xffffffff: not ready), or a notice."""

    mailbox: int | None = None
    notice: Notice | None = None

    def render(self) -> bytes:
        if self.notice is not None:
            return self.notice.render()
        return f"debug mailbox val:0x{self.mailbox:x}\n".encode("ascii")


def parse_io_test(data: bytes) -> IoTestFile:
    line = _one_line("io_test", data)
    match = _MAILBOX.fullmatch(line)
    if match is not None:
        return IoTestFile(mailbox=int(match.group(1), 16))
    return IoTestFile(notice=_notice("io_test", line, (Notice.VF_NOT_READY, *_PRECHECK)))


# --- the mainline 6.13 hisi_acc files --------------------------------------------------


@dataclass(frozen=True)
class DevDataFile:
    """`dev_data`: a fresh register read (match header zero), then two trailer lines."""

    dump: bytes
    guest_driver_load: int
    data_size: int

    def render(self) -> bytes:
        rows = render_hexdump(self.dump, DEV_DATA_PREFIX)
        rows += [f"guest driver load: {self.guest_driver_load}", f"data size: {self.data_size}"]
        return "".join(f"{row}\n" for row in rows).encode("ascii")


def parse_dev_data(data: bytes) -> DevDataFile:
    lines = _lines("dev_data", data)
    dump, rest = _split_dump("dev_data", lines, DEV_DATA_PREFIX)
    first = len(lines) - len(rest) + 1
    load = _trailer("dev_data", rest, first, "guest driver load")
    size = _trailer("dev_data", rest[1:], first + 1, "data size")
    _no_more("dev_data", rest[2:], first + 2)
    return DevDataFile(dump, load, size)


@dataclass(frozen=True)
class MigfDataFile:
    """`migf_data`: the data of the last completed migration and its real length."""

    dump: bytes
    length: int

    def render(self) -> bytes:
        rows = render_hexdump(self.dump, MIG_DATA_PREFIX)
        rows.append(f"migrate data length: {self.length}")
        return "".join(f"{row}\n" for row in rows).encode("ascii")


def parse_migf_data(data: bytes) -> MigfDataFile:
    lines = _lines("migf_data", data)
    dump, rest = _split_dump("migf_data", lines, MIG_DATA_PREFIX)
    first = len(lines) - len(rest) + 1
    length = _trailer("migf_data", rest, first, "migrate data length")
    _no_more("migf_data", rest[1:], first + 1)
    return MigfDataFile(dump, length)


CMD_STATE_READY: Final = "mailbox cmd channel ready!"


@dataclass(frozen=True)
class CmdStateFile:
    """`cmd_state`: one line when the mailbox is ready (otherwise the read fails)."""

    def render(self) -> bytes:
        return f"{CMD_STATE_READY}\n".encode("ascii")


def parse_cmd_state(data: bytes) -> CmdStateFile:
    line = _one_line("cmd_state", data)
    if line != CMD_STATE_READY:
        raise FormatError("cmd_state", f"expected {CMD_STATE_READY!r}", 1, line)
    return CmdStateFile()


# --- by kind ---------------------------------------------------------------------------

ParsedFile = (
    StateFile
    | FeaturesFile
    | AttrFile
    | DataFile
    | SaveFile
    | IoTestFile
    | DevDataFile
    | MigfDataFile
    | CmdStateFile
)

_PARSERS: dict[FileKind, Callable[[bytes], ParsedFile]] = {
    FileKind.STATE: parse_state,
    FileKind.FEATURES: parse_features,
    FileKind.ATTR: parse_attr,
    FileKind.DATA: parse_data,
    FileKind.SAVE: parse_save,
    FileKind.IO_TEST: parse_io_test,
    FileKind.DEV_DATA: parse_dev_data,
    FileKind.MIGF_DATA: parse_migf_data,
    FileKind.CMD_STATE: parse_cmd_state,
}


def parse_file(kind: FileKind, data: bytes) -> ParsedFile:
    """Parse the content of a debugfs file of `kind`; FormatError if it is not the kernel's."""
    return _PARSERS[kind](data)


def dump_bytes(parsed: ParsedFile) -> bytes | None:
    """The migration data bytes a parsed data file carries, if any."""
    if isinstance(parsed, DataFile | DevDataFile | MigfDataFile):
        return parsed.dump
    return None


def decode_dump(kind: FileKind, text: bytes) -> bytes | None:
    """The migration data bytes in a file's text; None if it carries none or is malformed."""
    try:
        return dump_bytes(parse_file(kind, text))
    except FormatError:
        return None
