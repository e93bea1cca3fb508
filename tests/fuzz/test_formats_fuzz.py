"""Fuzz: the debugfs file parsers and what the snapshot command prints from them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from tests.model.test_formats import any_file, mutated
from vfio_tui.model.formats import FormatError, decode_dump, parse_file
from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import FileResult
from vfio_tui.model.untrusted import is_printable
from vfio_tui.services.sidebyside import file_lines

# Bytes a hostile or broken host might put in a file: the kernel's words and digits,
# controls and escapes, invalid UTF-8.
TOKENS = [b"Mig Data:", b"Dev Data:", b"00000000: ", b"de ad ", b"\n", b"\x1b[2J", b"\xff", b" "]
hostile = st.lists(st.sampled_from(TOKENS) | st.binary(max_size=8), max_size=40).map(b"".join)


@FUZZ
@given(st.sampled_from(FileKind), hostile | st.binary(max_size=400))
def test_garbage_is_a_format_error_or_the_kernels_own_text(kind: FileKind, data: bytes) -> None:
    try:
        parsed = parse_file(kind, data)
    except FormatError:
        pass
    else:
        assert parsed.render() == data
    decode_dump(kind, data)  # never raises: None for what is not a dump


@FUZZ
@given(any_file)
def test_every_valid_file_parses(item: tuple[FileKind, object]) -> None:
    kind, value = item
    assert parse_file(kind, value.render()) == value  # type: ignore[attr-defined]


@FUZZ
@given(st.sampled_from(FileKind), hostile | st.binary(max_size=400), st.integers(24, 120))
def test_the_snapshot_text_form_shows_any_file_escaped(
    kind: FileKind, data: bytes, width: int
) -> None:
    lines = file_lines(FileResult(kind.path, data=data), width)
    assert lines and all(is_printable(line) and "\n" not in line for line in lines)


@FUZZ
@given(mutated())
def test_mutated_valid_files_are_shown_escaped(item: tuple[FileKind, bytes]) -> None:
    kind, data = item
    lines = file_lines(FileResult(kind.path, data=data), 38)
    assert all(is_printable(line) for line in lines)
