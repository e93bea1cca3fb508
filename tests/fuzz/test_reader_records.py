"""Fuzzing the remote reader's record parser (issue 10).

Whatever a host prints, parsing its lines gives a record, None (noise) or a
ProtocolError, never another exception; and every record the reader (or the
simulator) can emit parses back to what was sent. A fixed seed and a small budget
keep the suite quick; a longer run: VFIO_TUI_FUZZ_EXAMPLES=100000 (see the README).
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from vfio_tui.transport.reader_protocol import (
    FILE_TYPES,
    MARK,
    ProtocolError,
    Record,
    b64,
    device_listing,
    emit,
    file_answer,
    head_error,
    name_field,
    parse_record,
)

EXAMPLES = int(os.environ.get("VFIO_TUI_FUZZ_EXAMPLES", "300"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a busy machine is not a failure
    suppress_health_check=[HealthCheck.too_slow],
    database=None,  # the same examples on every run, wherever it runs
)
SEED = 20261202

# --- garbage in: only the parser's own error comes out ------------------------------------

TOKENS = st.sampled_from(
    [
        *(b"READY", b"F", b"T", b"D", b"P", b"E", b"END", b"1", b"0", b"12", b"9" * 20),
        *(b"fifo", b"socket", b"bm9pc2U=", b"", b" ", b"\n", MARK, b"\x00", b"\xff", b"=", b"*"),
        b"9" * 5000,  # more digits than int() accepts from a string
    ]
)
LINES = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda tail: MARK + tail, st.binary(max_size=200)),
    st.builds(lambda parts: MARK + b" ".join(parts), st.lists(TOKENS, max_size=8)),
    st.builds(lambda noise, parts: noise + MARK + b"".join(parts), st.binary(), st.lists(TOKENS)),
)


def parsed(line: bytes) -> Record | None:
    """parse_record, where only ProtocolError is an allowed way to refuse a line."""
    try:
        return parse_record(line)
    except ProtocolError:
        return None


@seed(SEED)
@fuzz
@given(LINES)
def test_any_line_parses_or_is_refused_as_garbled(line: bytes) -> None:
    record = parsed(line)
    if record is None:
        return
    if record.kind in ("F", "T"):
        try:
            index, answer = file_answer(record)
        except ProtocolError:
            return
        assert index >= 0
        assert (answer.data is not None) + (answer.message is not None) + answer.timed_out == 1


@seed(SEED)
@fuzz
@given(st.lists(LINES, max_size=12))
def test_any_listing_decodes_or_is_refused_as_garbled(lines: list[bytes]) -> None:
    records = [r for r in map(parsed, lines) if r is not None and r.kind != "READY"]
    try:
        listing = device_listing(records)
    except ProtocolError:
        return
    assert all(isinstance(name, str) for name in listing.devices)


# --- valid records in: they parse, exactly ----------------------------------------------

REQUESTS = st.integers(min_value=1, max_value=10**12)
INDEXES = st.integers(min_value=1, max_value=10**6)
NAMES = st.text(min_size=1, max_size=40)  # any text: names are base64 on the wire
ERRORS = st.builds(
    head_error,
    st.text(alphabet=string.ascii_letters + "/:._-", min_size=1, max_size=60),
    st.sampled_from([1, 2, 5, 11, 13, 16, 22]),
    st.booleans(),
)


@seed(SEED)
@fuzz
@given(REQUESTS, INDEXES, st.binary(max_size=3000))
def test_file_content_records_parse(request: int, index: int, data: bytes) -> None:
    record = parse_record(emit(request, "F", str(index), b64(data)))
    assert record is not None and (record.request, record.kind) == (request, "F")
    assert file_answer(record) == (index, file_answer(record)[1])
    assert file_answer(record)[1].data == data


@seed(SEED)
@fuzz
@given(REQUESTS, INDEXES, ERRORS)
def test_file_error_records_parse(request: int, index: int, message: str) -> None:
    record = parse_record(emit(request, "F", str(index), message))
    assert record is not None
    got, answer = file_answer(record)
    assert got == index and answer.message == message and answer.errno is not None


@seed(SEED)
@fuzz
@given(REQUESTS, INDEXES, st.sampled_from([None, *FILE_TYPES]))
def test_timeout_records_parse(request: int, index: int, kind: bytes | None) -> None:
    fields = (str(index),) if kind is None else (str(index), kind)
    record = parse_record(emit(request, "T", *fields))
    assert record is not None
    got, answer = file_answer(record)
    assert got == index and answer.timed_out
    assert answer.file_type == (None if kind is None else FILE_TYPES[kind])


@seed(SEED)
@fuzz
@given(
    REQUESTS,
    st.dictionaries(NAMES, st.lists(NAMES, max_size=6, unique=True), max_size=5),
    st.sampled_from([b64, name_field]),
)
def test_listings_parse_to_what_was_listed(
    request: int, devices: dict[str, list[str]], encode: Callable[[str], bytes]
) -> None:
    # Names travel as base64, or as themselves after "=" when plain (name_field).
    lines = []
    for name, files in devices.items():
        lines.append(emit(request, "D", encode(name)))
        lines += [emit(request, "P", encode(name), encode(path)) for path in files]
    lines.append(emit(request, "END"))
    records = [parse_record(line) for line in lines]
    assert all(r is not None and r.request == request for r in records)
    listing = device_listing([r for r in records if r is not None and r.kind != "END"])
    assert listing.error is None
    assert listing.devices == {name: sorted(files) for name, files in devices.items()}


@seed(SEED)
@fuzz
@given(REQUESTS, st.text(max_size=200))
def test_listing_errors_parse(request: int, message: str) -> None:
    record = parse_record(emit(request, "E", b64(message)))
    assert record is not None
    listing = device_listing([record])
    assert listing.error == (message or "listing failed")
