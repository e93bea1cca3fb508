"""Captures: atomic, listed, and what a crash leaves behind is never taken for one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.captures import add_capture
from vfio_tui.services.captures import CaptureStore


def add(store: CaptureStore, side: str, data: bytes) -> object:
    return add_capture(store, side, data, text=b"Mig Data:00000000: 01\n")


def test_captures_round_trip_and_list_oldest_first(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, now=iter([100.0, 200.0]).__next__)
    first = add(store, "source", b"\x01" * 144)
    add(store, "destination", b"\x02" * 40)
    listed = CaptureStore(tmp_path).list()  # a new store: what survives the app
    assert [c.side for c in listed] == ["source", "destination"]
    assert listed[0] == first
    assert listed[0].data() == b"\x01" * 144 and listed[1].size == 40
    assert listed[0].text() == "Mig Data:00000000: 01\n"
    assert listed[0].states == {"source": "STOP", "destination": "RUNNING"}
    assert len(listed[0].sha256) == 64
    assert not list(tmp_path.glob(".*.tmp"))  # no half files left behind


def test_interrupted_writes_are_not_captures(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path)
    kept = add(store, "source", b"\x01")
    (tmp_path / "20991231T000000-001-source-migf_data.bin").write_bytes(b"half")  # no .json
    (tmp_path / ".20991231T000000-002-source-migf_data.json.tmp").write_text("{")
    (tmp_path / "20991231T000000-003-source-migf_data.json").write_text("{not json")
    (tmp_path / "notes.json").write_text(json.dumps({"mine": True}))
    assert store.list() == [kept]
