"""Captures: atomic, listed, and what a crash leaves behind is never taken for one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.captures import add_capture
from vfio_tui.services.captures import Capture, CaptureError, CaptureStore


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


# --- metadata is untrusted: damaged or hostile .json files are skipped -------------------

GOOD_ID = "20260101T000000-001-source-migf_data"


def write_meta(directory: Path, name: str, **changes: object) -> dict[str, object]:
    store = CaptureStore(directory / "model")
    capture = add(store, "source", b"\x01" * 16)
    meta = {**capture.to_json(), "id": name, **changes}
    (directory / f"{name}.json").write_text(json.dumps(meta))
    (directory / f"{name}.bin").write_bytes(b"\x01" * 16)
    return meta


@pytest.mark.parametrize(
    "changes",
    [
        {"taken_at": []},
        {"taken_at": float("nan")},
        {"clock": "soon"},
        {"size": -1},
        {"size": True},
        {"states": ["source"]},
        {"states": {"source": 3}},
        {"sha256": "zz"},
        {"side": "elsewhere"},
        {"host": {"a": 1}},
        {"kind": None},
        {"id": "../secret"},
        {"id": "2026" + "9" * 5000},
        {"id": GOOD_ID.replace("001", "002")},  # not the file it is named by
    ],
)
def test_damaged_metadata_is_skipped_not_a_crash(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    (tmp_path / "secret.bin").write_bytes(b"outside the capture directory")
    captures = tmp_path / "captures"
    captures.mkdir()
    write_meta(captures, GOOD_ID, **changes)
    assert CaptureStore(captures).list() == []


def test_a_capture_id_never_names_a_file_outside_its_directory(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    captures.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"not yours")
    meta = write_meta(captures, GOOD_ID)
    with pytest.raises(CaptureError, match="not a capture id"):
        Capture.from_json({**meta, "id": "../secret"}, captures)
    (captures / "x.json").write_text("[1, 2]")
    (captures / f"{GOOD_ID.replace('001', '003')}.json").write_text("[" * 100_000)
    assert [c.id for c in CaptureStore(captures).list()] == [GOOD_ID]


# --- a failed write leaves nothing behind --------------------------------------------------

FULL_DISK = """
import resource, signal, sys
from pathlib import Path
import pytest

from tests.fixtures.captures import add_capture
from vfio_tui.services.captures import Capture, CaptureError, CaptureStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
store = CaptureStore(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # files past 4 KiB cannot grow
for size in (100_000, 0):
    try:
        add_capture(store, "source", b"\\x01" * size, text=b"Mig Data:" + b"0" * 8000)
    except OSError as exc:
        print(exc.errno)
"""


def test_a_full_disk_leaves_no_temporary_or_half_capture(tmp_path: Path) -> None:
    import errno
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(errno.EFBIG)] * 2  # too big: the data, then the text
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .tmp, no lone .bin


# --- the budget: keep the first and the newest, and say so once ------------------------


def test_the_budget_keeps_the_first_and_the_newest_and_says_so_once(tmp_path: Path) -> None:
    clock = iter(float(t) for t in range(1000, 2000))
    store = CaptureStore(tmp_path, now=clock.__next__, budget=8 * 1024)
    made = [add(store, "source", bytes([n]) * 1000) for n in range(20)]
    assert store.take_notice() is not None
    kept = CaptureStore(tmp_path).list()
    assert kept[0] == made[0]  # the first
    assert kept[-1] == made[-1]  # the newest
    assert [c.id for c in kept[1:]] == [c.id for c in made[-len(kept) + 1 :]]
    assert 2 < len(kept) < 8
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 8 * 1024


def test_the_budget_notice_is_clear_and_given_once(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, budget=6 * 1024)
    for n in range(3):
        add(store, "source", bytes([n]) * 1000)
    assert store.take_notice() is None  # still within the budget
    for n in range(10):
        add(store, "source", bytes([n]) * 1000)
    notice = store.take_notice()
    assert notice is not None
    assert f"capture budget of 6 KiB reached in {tmp_path}" in notice
    assert "keeping the first and the newest" in notice
    add(store, "source", b"\x09" * 1000)
    assert store.take_notice() is None
    with pytest.raises(OSError, match="does not fit the capture budget of 6 KiB"):
        add(store, "source", b"\x09" * 10_000)
    assert not list(tmp_path.glob(".*.tmp"))


async def test_the_session_reports_the_budget_once(tmp_path: Path) -> None:
    """The app's log and notification show `capture_problem` when `capture_failures` grows."""
    from sim.names import HISI_MAINLINE_DEVICE
    from sim.pace import Pace
    from tests.fixtures.session import make_session

    session = make_session(
        CaptureStore(tmp_path, budget=3 * 1024),
        f"sim://src#{HISI_MAINLINE_DEVICE}",
        f"sim://dst#{HISI_MAINLINE_DEVICE}",
        pace=Pace.instant(),
    )
    try:
        await session.attach("source")
        await session.poll("source")
        kept = [session.keep("source", "state") for _ in range(30)]
        assert all(kept)
        assert session.capture_failures == 1
        assert session.capture_problem is not None
        assert "capture budget of 3 KiB reached" in session.capture_problem
    finally:
        await session.close()
