"""`vfio-tui diff A B`: the verdict and field table, exit status like cmp."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.captures import add_capture
from vfio_tui.cli import main
from vfio_tui.model.accdata import AccVfData, encode_acc_vf_data
from vfio_tui.model.formats import MigfDataFile
from vfio_tui.services.captures import CaptureStore

SOURCE = encode_acc_vf_data(AccVfData(qp_num=4, dev_id=0xA256, que_iso_cfg=1))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_identical_raw_and_hex_dump_exit_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write(tmp_path / "a.bin", SOURCE[:144])
    dump = write(tmp_path / "b.txt", MigfDataFile(SOURCE[:144], 176).render())
    assert main(["diff", str(raw), str(dump)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical\n")
    assert "kernel hex dump, decoded" in out
    assert "acc_magic" in out and "≠" not in out


def test_differences_exit_one_with_fields_and_cmp_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = bytearray(SOURCE)
    changed[0x0C] = 0x59  # dev_id 0xa259: an HPRE VF
    changed[0x44] ^= 0xFF
    a, b = write(tmp_path / "a.bin", SOURCE), write(tmp_path / "b.bin", bytes(changed))
    assert main(["diff", str(a), str(b), "--list", "--sha256"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "2 bytes differ in 2 ranges"
    assert "first difference at offset 0xc (12)" in out
    assert "sha256" in out
    assert any("dev_id" in line and "would refuse" in line for line in lines)
    # The list is what cmp -l prints for the same two files.
    cmp = subprocess.run(["cmp", "-l", str(a), str(b)], capture_output=True, text=True)
    assert cmp.stdout.splitlines() == lines[-2:]


def test_sizes_that_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write(tmp_path / "a.bin", SOURCE), write(tmp_path / "b.bin", SOURCE[:40])
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("136 bytes differ in 1 range")
    assert "match data only" in out


def test_bad_input_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path / "nope.bin"), str(tmp_path / "nope2.bin")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    assert main(["diff", "only-one"]) == 2


def test_a_capture_json_stands_for_its_bytes(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path / "caps")
    one = add_capture(store, "source", SOURCE)
    two = add_capture(store, "destination", SOURCE)
    json_one = one.directory / f"{one.id}.json"
    assert main(["diff", str(json_one), str(two.data_path)]) == 0


# --- names and metadata are untrusted text ------------------------------------------------


def test_names_and_metadata_are_escaped_in_output_errors_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from vfio_tui.services.diffing import compare, export_text, open_file

    store = CaptureStore(tmp_path / "caps")
    one = add_capture(store, "source", SOURCE)
    meta_path = one.directory / f"{one.id}.json"
    meta = json.loads(meta_path.read_text())
    meta["host"] = "sim://src\x1b]0;pwned\x07"
    meta_path.write_text(json.dumps(meta))
    hostile = write(tmp_path / "b\x1b[2J.bin", SOURCE[:100])
    assert main(["diff", str(meta_path), str(hostile)]) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out and "\x07" not in captured.out
    assert "b\\x1b[2J.bin" in captured.out
    assert "sim://src\\x1b]0;pwned\\x07" in captured.out
    assert main(["diff", str(tmp_path / "gone\x1b[2J"), str(hostile)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "gone\\x1b[2J" in err
    a, b = open_file(meta_path), open_file(hostile)
    exported = export_text(tmp_path / "diff.txt", compare(a, b), a, b, None)
    text = exported.read_text()
    assert "\x1b" not in text and "sim://src\\x1b]0;pwned\\x07" in text
    a.close()
    b.close()


@pytest.mark.parametrize(
    "content",
    ["[1, 2]", '{"taken_at": []}', "[" * 100_000, "{"],
    ids=["a-list", "taken_at-a-list", "deeply-nested", "cut-short"],
)
def test_a_damaged_capture_json_is_still_compared_by_its_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    store = CaptureStore(tmp_path / "caps")
    one = add_capture(store, "source", SOURCE)
    meta_path = one.directory / f"{one.id}.json"
    meta_path.write_text(content)
    assert main(["diff", str(meta_path), str(one.data_path)]) == 0
    assert capsys.readouterr().out.startswith("identical")
    long = tmp_path / ("x" * 300 + ".json")
    assert main(["diff", str(long), str(one.data_path)]) == 2
    assert "File name too long" in capsys.readouterr().err


# --- --list streams, and a crash is never "differ" ----------------------------------------


GNU_TIME = Path("/usr/bin/time")


@pytest.mark.skipif(not GNU_TIME.exists(), reason="needs GNU time for the child's peak RSS")
def test_list_of_fully_different_files_stays_under_64_mib(tmp_path: Path) -> None:
    """16 MiB that differ in every byte: 16 Mi lines, in bounded memory (was 2 GB)."""
    import os
    import sys

    size = 16 << 20
    data = os.urandom(size)
    a = write(tmp_path / "a.bin", data)
    b = write(tmp_path / "b.bin", data.translate(bytes(x ^ 0xFF for x in range(256))))
    del data
    report = tmp_path / "rss"
    # GNU time forks the command from a small process: its peak RSS is the command's own
    # (a child spawned from pytest would start from pytest's).
    measure = [str(GNU_TIME), "-f", "%M", "-o", str(report)]
    with open(tmp_path / "out.txt", "wb") as out:
        done = subprocess.run(
            [*measure, sys.executable, "-m", "vfio_tui.cli", "diff", "--list", str(a), str(b)],
            stdout=out,
            stderr=subprocess.PIPE,
        )
    assert done.returncode == 1, done.stderr
    peak_kib = int(report.read_text().split()[-1])
    assert peak_kib < 64 * 1024, f"peak RSS {peak_kib} KiB"
    with open(tmp_path / "out.txt", "rb") as listing:
        head = listing.read(4096).split(b"\n")
        listing.seek(-60, os.SEEK_END)
        tail = listing.read().split(b"\n")
    assert head[0] == f"{size} bytes differ in 1 range".encode()
    first = head.index(b"") + 1  # the list follows the summary and a blank line
    byte_a, byte_b = a.read_bytes()[:1][0], b.read_bytes()[:1][0]
    assert head[first] == f"{1:8d} {byte_a:3o} {byte_b:3o}".encode()
    assert tail[-2].startswith(f"{size} ".encode()) and tail[-1] == b""
    assert (tmp_path / "out.txt").stat().st_size > size * 17  # every byte listed


def test_a_crash_exits_two_with_a_message_never_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vfio_tui.services import diffing

    def out_of_memory(*_: object, **__: object) -> None:
        raise MemoryError

    a, b = write(tmp_path / "a.bin", SOURCE), write(tmp_path / "b.bin", SOURCE[::-1])
    monkeypatch.setattr(diffing, "cmp_list", out_of_memory)
    assert main(["diff", "--list", str(a), str(b)]) == 2
    assert "vfio-tui diff: out of memory" in capsys.readouterr().err

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(diffing, "compare", broken)
    assert main(["diff", str(a), str(b)]) == 2
    assert "RuntimeError('a bug')" in capsys.readouterr().err


def test_list_into_a_closed_pipe_exits_two_quietly(tmp_path: Path) -> None:
    import sys

    data = bytes(range(256)) * 4096  # 1 MiB that differs everywhere: more than a pipe holds
    a = write(tmp_path / "a.bin", data)
    b = write(tmp_path / "b.bin", data[::-1])
    child = subprocess.Popen(
        [sys.executable, "-m", "vfio_tui.cli", "diff", "--list", str(a), str(b)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"1048576 bytes differ")
    child.stdout.close()  # as `| head -1` does
    assert child.wait(timeout=120) == 2
    assert b"Traceback" not in child.stderr.read()


# --- SHA-256 values, not just their presence -----------------------------------------------

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 B.1


def test_sha256_values_are_the_bytes_hashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through a capture (kept by the store) and a raw file: each side's digest is its bytes'."""
    store = CaptureStore(tmp_path / "caps")
    kept = add_capture(store, "source", SOURCE)
    assert kept.sha256 == hashlib.sha256(SOURCE).hexdigest()
    abc = write(tmp_path / "abc.bin", b"abc")
    assert main(["diff", str(kept.directory / f"{kept.id}.json"), str(abc), "--sha256"]) == 1
    out = capsys.readouterr().out
    digests = [line.split("sha256 ")[1] for line in out.splitlines() if "sha256 " in line]
    assert digests == [hashlib.sha256(SOURCE).hexdigest(), ABC_SHA256], out
    big = bytes(range(256)) * 40_000  # several of the hasher's 4 MiB buffers
    assert main(["diff", str(write(tmp_path / "big", big)), str(abc), "--sha256"]) == 1
    assert hashlib.sha256(big).hexdigest() in capsys.readouterr().out
