"""Fuzz: struct acc_vf_data and the mtty header, decoded from any bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from tests.model.test_accdata import v1_data, v2_data
from vfio_tui.model.accdata import (
    ACC_VF_DATA_SIZE,
    MTTY_HEADER_SIZE,
    MttyHeader,
    acc_data_size_words,
    acc_magic,
    decode_acc_vf_data,
    decode_fields,
    decode_mtty_header,
    encode_acc_vf_data,
    is_mtty_data,
)
from vfio_tui.model.fielddiff import compare_fields

MAGICS = [bytes.fromhex("dedecadeedfeccaa"), bytes.fromhex("4e2c3e8c89099d7e")]
images = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(MAGICS), st.binary(max_size=250)).map(b"".join),
)


@FUZZ
@given(images)
def test_any_bytes_decode_field_by_field(data: bytes) -> None:
    fields = decode_fields(data)
    assert all(isinstance(f.value, str) for f in fields)
    acc_magic(data)
    is_mtty_data(data)
    if len(data) >= ACC_VF_DATA_SIZE:
        vf = decode_acc_vf_data(data)
        assert decode_acc_vf_data(encode_acc_vf_data(vf)) == vf
    if len(data) >= MTTY_HEADER_SIZE:
        header = decode_mtty_header(data)
        header.problems(2)
        assert header.encode() == data[:MTTY_HEADER_SIZE]


@FUZZ
@given(images, images)
def test_any_two_images_compare_field_by_field(a: bytes, b: bytes) -> None:
    for row in compare_fields(a, b):
        assert row.differs or not row.note


@FUZZ
@given(st.integers(-(2**70), 2**70))
def test_any_length_is_described(length: int) -> None:
    assert acc_data_size_words(length)


@FUZZ
@given(v2_data | v1_data)
def test_every_valid_acc_vf_data_decodes(vf: object) -> None:
    data = encode_acc_vf_data(vf)  # type: ignore[arg-type]
    assert decode_acc_vf_data(data) == vf
    assert all(f.value != "(missing)" for f in decode_fields(data))


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_every_valid_mtty_header_decodes(ports: int) -> None:
    header = MttyHeader(nr_ports=ports)
    data = header.encode() + bytes(8)
    assert is_mtty_data(data) and decode_mtty_header(data) == header
    assert header.problems(ports) == []
