"""The remote reader's framing: requests refuse unsafe words, answers decode exactly."""

from __future__ import annotations

import errno
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vfio_tui.transport.reader_protocol import (
    READY_LINE,
    SCRIPT,
    ProtocolError,
    b64,
    emit,
    errno_from_message,
    file_answer,
    head_error,
    parse_record,
    read_request,
)


def test_requests_refuse_anything_but_plain_words() -> None:
    assert read_request(3, 2, 100, ["/sys/kernel/debug/vfio/0000:3b:00.2/migration/state"]) == (
        b"3 read 2.000 100 /sys/kernel/debug/vfio/0000:3b:00.2/migration/state\n"
    )
    for bad in ["/a b", "/a\nb", "/a;reboot", "/$(id)", "/a'b"]:
        with pytest.raises(ValueError, match="refusing"):
            read_request(1, 1, 1, [bad])


@given(st.binary(max_size=2000))
def test_file_content_round_trips_through_a_record(data: bytes) -> None:
    record = parse_record(emit(7, "F", "2", b64(data)))
    assert record is not None and record.request == 7
    index, answer = file_answer(record)
    assert (index, answer.data, answer.message) == (2, data, None)


def test_error_records_carry_the_errno() -> None:
    text = head_error("/x/migf_data", errno.EAGAIN, opening=False)
    index, answer = file_answer(parse_record(emit(1, "F", "1", text)))  # type: ignore[arg-type]
    assert (index, answer.data, answer.errno) == (1, None, errno.EAGAIN)
    assert errno_from_message("head: cannot open 'x' for reading: Permission denied") == (
        errno.EACCES
    )
    assert errno_from_message("something odd") is None


def test_noise_is_ignored_and_garbage_is_refused() -> None:
    assert parse_record(b"Welcome to prod!\n") is None
    assert parse_record(READY_LINE) is not None
    with pytest.raises(ProtocolError):
        parse_record(b"\x1eVTUI x F 1\n")
    with pytest.raises(ProtocolError):
        parse_record(b"\x1eVTUI 1 Q\n")


def test_the_script_is_posix_sh() -> None:
    # dash is the strict one; `sh -n` parses without running.
    for shell in ("dash", "bash", "sh"):
        path = shutil.which(shell)
        if path is None:
            continue
        checked = subprocess.run([path, "-n"], input=SCRIPT.encode(), capture_output=True)
        assert checked.returncode == 0, (shell, checked.stderr)
    assert "eval" not in SCRIPT  # requests are data, never code
