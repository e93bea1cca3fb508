"""Fuzz: capture metadata (the .json beside each capture), damaged or hostile."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from vfio_tui.services.captures import Capture, CaptureError, CaptureStore

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

KEYS = [
    "id",
    "side",
    "host",
    "device",
    "file",
    "kind",
    "reason",
    "taken_at",
    "clock",
    "size",
    "sha256",
    "states",
    "schema",
]


@st.composite
def valid_meta(draw: st.DrawFn) -> dict[str, Any]:
    side = draw(st.sampled_from(["source", "destination"]))
    slug = draw(st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True))
    stamp = draw(st.from_regex(r"20[0-9]{6}T[0-9]{6}-[0-9]{3}", fullmatch=True))
    return {
        "schema": 1,
        "id": f"{stamp}-{side}-{slug}",
        "side": side,
        "host": draw(st.sampled_from(["sim://src", "ssh://root@h:22", "local:///x"])),
        "device": draw(st.text(max_size=30)),
        "file": draw(st.sampled_from(["hisi_acc/migf_data", "hisi_acc/data", "x"])),
        "kind": draw(st.sampled_from(["acc_vf_data", "mtty", "raw"])),
        "reason": draw(st.sampled_from(["save", "changed", "kept"])),
        "taken_at": draw(st.floats(0, 4e9)),
        "clock": draw(st.floats(0, 1e6)),
        "size": draw(st.integers(0, 2**40)),
        "sha256": draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        "states": draw(
            st.dictionaries(
                st.sampled_from(["source", "destination"]),
                st.none() | st.sampled_from(["RUNNING", "STOP", "(blocked)"]),
            )
        ),
    }


@st.composite
def damaged_meta(draw: st.DrawFn) -> object:
    meta: dict[str, Any] = draw(valid_meta())
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3)):
        if draw(st.booleans()):
            meta[key] = draw(json_values)
        else:
            meta.pop(key, None)
    return draw(st.just(meta) | json_values)


@FUZZ
@given(damaged_meta())
@example({"taken_at": []})  # what fuzzing found: a TypeError ended the diff screen
def test_damaged_metadata_is_a_capture_error_or_a_capture_inside_its_directory(
    meta: object,
) -> None:
    directory = Path("/nonexistent/captures")
    try:
        capture = Capture.from_json(meta, directory)
    except CaptureError:
        return
    assert capture.data_path.parent == directory
    assert capture.label and capture.to_json()["id"] == capture.id


@FUZZ
@given(valid_meta())
def test_every_valid_metadata_parses(meta: dict[str, Any]) -> None:
    capture = Capture.from_json(meta, Path("/d"))
    assert capture.to_json() == {**meta, "taken_at": float(meta["taken_at"])}


@FUZZ
@given(st.lists(damaged_meta() | valid_meta(), max_size=4), st.binary(max_size=30))
def test_listing_a_directory_of_damaged_files_never_fails(metas: list[object], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        for number, meta in enumerate(metas):
            stem = f"20260101T000000-{number:03d}-source-migf_data"
            if isinstance(meta, dict) and isinstance(meta.get("id"), str) and number % 2:
                stem = meta["id"][:200] if "/" not in meta["id"] else stem
            (directory / f"{stem}.json").write_text(json.dumps(meta))
            (directory / f"{stem}.bin").write_bytes(raw)
        (directory / "20260101T000000-999-source-x.json").write_bytes(raw)
        for capture in CaptureStore(directory).list():
            assert capture.data_path.parent == directory and capture.data_path.is_file()
