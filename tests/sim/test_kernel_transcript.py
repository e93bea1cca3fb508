"""The simulator's mtty held against a real kernel (issue 6).

The committed transcript came from Linux 6.12 booted under QEMU by harness/run
(see harness/TRANSCRIPT.md). `.ci/run` also runs the harness live and points
VFIO_TUI_TRANSCRIPT at the fresh transcript, which is then replayed here too.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

import sim.transcript
from sim.cli import main
from sim.mtty import FIFO_DEPTH, MttyDevice, fresh_port, uart_write
from sim.transcript import KNOWN_DIFFERENCES, Json, check, harness_pairs, load
from vfio_tui.model.accdata import MTTY_HEADER_SIZE
from vfio_tui.model.fsm import KernelFsm
from vfio_tui.model.states import MigrationFlags, MigrationState

GOLDEN = Path(__file__).parents[1] / "golden" / "mtty-6.12-transcript.json"


def transcripts() -> list[Path]:
    found = [GOLDEN]
    fresh = os.environ.get("VFIO_TUI_TRANSCRIPT")
    if fresh:
        found.append(Path(fresh))
    return found


@pytest.fixture(params=transcripts(), ids=lambda p: p.name)
def kernel(request: pytest.FixtureRequest) -> Json:
    return load(request.param)


async def test_simulator_answers_like_the_kernel(kernel: Json) -> None:
    comparison = await check(kernel)
    print(comparison.text())  # coverage and differences, for the CI log (pytest -s / -rA)
    assert comparison.unexplained == [], comparison.text()
    assert {d.path for d in comparison.differences} <= set(KNOWN_DIFFERENCES)
    # The walk is not trivially small: every reachable pair, both transfers, four resumes.
    # Counted from what was replayed, against what the FSM says the harness walks.
    skipped = {(p["from"], p["to"]) for p in kernel.get("skipped", [])}
    replayed = {(p["from"], p["to"]) for p in kernel["pairs"] if "result" in p}
    assert replayed | skipped == harness_pairs(MttyDevice("m").flags)
    assert comparison.walked == len(replayed) and comparison.expected_pairs == 56
    assert comparison.transfers == 6
    assert comparison.compared > 500


async def test_as_6_12_there_is_no_difference_at_all(kernel: Json) -> None:
    """The one known difference is the later kernel's features file; without it, none."""
    comparison = await check(kernel, features_file=False)
    assert comparison.differences == [], comparison.text()


async def test_every_known_difference_still_occurs() -> None:
    """A stale entry would hide a future regression: each must show against the golden file."""
    comparison = await check(load(GOLDEN))
    assert {d.path for d in comparison.differences} == set(KNOWN_DIFFERENCES)


async def test_a_changed_kernel_answer_is_caught() -> None:
    kernel = load(GOLDEN)
    changed = copy.deepcopy(kernel)
    pair = next(p for p in changed["pairs"] if (p["from"], p["to"]) == ("STOP_COPY", "PRE_COPY"))
    pair["result"] = "0"  # as if the kernel allowed the blocked arc
    image = bytearray.fromhex(changed["transfers"]["stop_copy"]["hex"])
    image[40] ^= 1
    changed["transfers"]["stop_copy"]["hex"] = image.hex()
    changed["resume"]["corrupt_header"]["steps"][1]["result"] = "96"
    changed["lifecycle"]["something_new"] = "0"  # a fact the replay does not answer

    comparison = await check(changed, features_file=False)
    found = {d.path: d for d in comparison.unexplained}
    assert set(found) == {
        "pairs[STOP_COPY->PRE_COPY].result",
        "transfers.stop_copy.hex",
        "resume.corrupt_header.steps",
        "lifecycle.something_new",
    }
    assert found["pairs[STOP_COPY->PRE_COPY].result"].sim == "EINVAL"
    assert found["lifecycle.something_new"].sim == "<not answered>"
    assert "4 unexplained" in comparison.text()


def test_the_harness_walks_every_reachable_pair_of_the_table() -> None:
    """The expected set, from the kernel facts: 7 reachable current states (ERROR is never
    supported) towards each of the 8 targets, on mtty, which has every flag."""
    expected = harness_pairs(
        MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY
    )
    assert len(expected) == 56
    assert {cur for cur, _ in expected} == {s.name for s in MigrationState} - {"ERROR"}
    assert all(("RUNNING", new.name) in expected for new in MigrationState)
    # Without P2P and PRE_COPY only STOP, RUNNING, STOP_COPY, RESUMING are reachable.
    assert len(harness_pairs(MigrationFlags.STOP_COPY)) == 4 * 8


async def test_a_transcript_missing_pairs_is_caught() -> None:
    """Five pairs deleted (the summary left saying 56): each is named, and the count says 51."""
    kernel = load(GOLDEN)
    gone = kernel["pairs"][3:8]
    del kernel["pairs"][3:8]
    comparison = await check(kernel, features_file=False)
    unexplained = {d.path for d in comparison.unexplained}
    named = {f"pairs[{p['from']}->{p['to']}]" for p in gone}
    assert unexplained == named | {"coverage.walked"}, comparison.text()
    assert comparison.walked == 51
    assert "51 of 64 (current, target) pairs walked (56 reachable)" in comparison.text()


@pytest.mark.parametrize("section", ["lifecycle", "resume", "transfers", "pairs", "device"])
async def test_a_transcript_missing_a_section_is_caught(section: str) -> None:
    kernel = load(GOLDEN)
    del kernel[section]
    comparison = await check(kernel, features_file=False)
    assert section in {d.path for d in comparison.unexplained}, comparison.text()


async def test_an_unguarded_kernel_is_replayed_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 6.12.y without the loop guard: its transcript skips STOP_COPY -> PRE_COPY*, and the
    simulator, set to the same kernel, hangs on that request where the real one spins."""
    kernel = load(GOLDEN)
    kernel["kernel"]["vfio_mig_get_next_state"]["loop_guard"] = False
    replay = sim.transcript.Replay(kernel, features_file=False)
    assert replay.main.kernel is KernelFsm.UNPATCHED
    monkeypatch.setattr(sim.transcript, "CALL_TIMEOUT", 0.05)
    await replay.main.reset()
    await replay.set(replay.main, "STOP_COPY")
    assert await replay.set(replay.main, "PRE_COPY") == ("HANG", None)
    replay.main.release_hang()


def test_bad_transcripts_are_refused_with_the_reason(tmp_path: Path) -> None:
    cases = {
        "garbage.json": ("{not json", "not a readable transcript"),
        "schema.json": (json.dumps({"schema": 7}), "not a schema-1 transcript"),
        "fatal.json": (json.dumps({"schema": 1, "fatal": "no mtty"}), "stopped early: no mtty"),
    }
    for name, (text, reason) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=reason):
            load(tmp_path / name)
    with pytest.raises(ValueError, match="not a readable transcript"):
        load(tmp_path / "missing.json")


def test_vfio_sim_check_prints_coverage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", str(GOLDEN)]) == 0
    out = capsys.readouterr().out
    assert (
        "kernel 6.12.117: 56 of 64 (current, target) pairs walked (56 reachable), "
        "6 data transfers" in out
    )
    assert "differences from the simulator: 1 (0 unexplained, 1 known)" in out
    assert main(["check", "--as-6.12", str(GOLDEN)]) == 0
    assert "differences from the simulator: 0" in capsys.readouterr().out

    broken = load(GOLDEN)
    broken["device"]["mig_data_size"] = 60
    (tmp_path / "t.json").write_text(json.dumps(broken))
    assert main(["check", str(tmp_path / "t.json")]) == 1
    assert "device.mig_data_size: kernel 60, simulator 96" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "nope.json")]) == 2


# --- the UART writes that give mtty's saved ports their content -------------------------


def test_uart_writes_reach_the_saved_port_state() -> None:
    device = MttyDevice("m", nr_ports=2)
    assert device.bar_write(0, 7, 0x5A) == 1  # SCR is stored as is
    device.bar_write(0, 0, ord("h"))  # TX: into the loopback fifo
    port0 = device.image()[MTTY_HEADER_SIZE : MTTY_HEADER_SIZE + 36]
    assert port0[7] == 0x5A
    assert port0[8] == ord("h") and port0[24:27] == bytes([1, 0, 1])  # head, tail, count
    assert device.image()[MTTY_HEADER_SIZE + 36 :] == fresh_port()  # port 1 untouched


def test_uart_divisor_latch_and_fifo_control() -> None:
    port = bytearray(fresh_port())
    uart_write(port, 3, 0x80)  # LCR with DLAB: the next TX/IER bytes are the divisor
    uart_write(port, 0, 0x0C)
    uart_write(port, 1, 0x00)
    assert port[27] == 1 and port[30:32] == b"\x0c\x00" and port[8] == 0
    uart_write(port, 3, 0x03)
    uart_write(port, 2, 0xC7)  # FCR: enable + clear + trigger 14, which mtty turns into 1
    assert (port[32], port[33], port[34]) == (0xC7, FIFO_DEPTH, 1)
    uart_write(port, 2, 0x00)  # fifo off: one byte deep
    assert port[33] == 1


def test_a_full_fifo_sets_overrun_instead_of_growing() -> None:
    port = bytearray(fresh_port())
    for byte in range(FIFO_DEPTH + 1):
        uart_write(port, 0, byte)
    assert port[26] == FIFO_DEPTH and port[28] == 1  # count stays 16, overrun set
    assert port[24] == 0  # head wrapped around


def test_a_write_to_a_port_the_device_lacks_is_refused() -> None:
    with pytest.raises(OSError, match="Invalid argument"):
        MttyDevice("m", nr_ports=1).bar_write(1, 0, 1)
