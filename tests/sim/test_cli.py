"""`vfio-sim` commands, as a person or a script uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.pair import HISI_MAINLINE_DEVICE
from sim.scenarios import SCENARIOS


def test_scenarios_lists_each_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    said = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines}
    # Each says what a person sees on the hosts, in the domain's words (kernel-debugfs.md 5).
    must_say = {
        "clean": ["no fault", "intact"],
        "match-mismatch": ["destination", "refuses the match header"],
        "hung-save": ["never finishes", "STOP_COPY"],
        "mailbox-not-ready": ["mailbox", "0xffffffff", "hisi_acc devices only"],
        "guest-driver-not-loaded": ["guest", "40-byte match data", "hisi_acc devices only"],
        "corrupt-transfer": ["bytes", "change"],
        "device-unplug": ["unbound", "STOP_COPY", "vanishes"],
        "precopy-hang": ["unpatched kernel", "PRE_COPY from STOP_COPY", "loops forever"],
    }
    assert set(said) == set(must_say)
    for name, words in must_say.items():
        missing = [w for w in words if w not in said[name]]
        assert not missing, f"{name}: {said[name]!r} does not say {missing}"


def test_fsm_json_covers_every_supported_pair(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fsm", "--flags", "stop-copy,p2p,pre-copy", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert len(table) == 7 * 8
    assert table["RUNNING>STOP_COPY"] == "RUNNING_P2P"
    assert table["STOP_COPY>PRE_COPY"] == "EINVAL"
    assert table["RUNNING>ERROR"] == "EINVAL"
    assert "ERROR>STOP" not in table


def test_fsm_json_for_stop_copy_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fsm", "--flags", "stop-copy", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert len(table) == 4 * 8
    assert table["RUNNING>STOP_COPY"] == "STOP"
    assert table["RUNNING>RUNNING_P2P"] == "EINVAL"


def test_fsm_grid_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fsm", "--flags", "stop-copy,pre-copy", "--kernel", "unpatched", "--paths"]) == 0
    out = capsys.readouterr().out
    grid = out.split("\n\n")[1].splitlines()[1:]  # the rows under the header
    rows = {line.split()[0]: line.split()[1:] for line in grid}
    assert rows["STOP_COPY"][6] == "!"  # towards PRE_COPY: the loop
    assert rows["RUNNING"][1] == "STOP"
    assert "PRE_COPY -> RESUMING: PRE_COPY -> RUNNING -> STOP -> RESUMING" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_fsm_refuses_unknown_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fsm", "--flags", "stop-copy,turbo"])
    assert "unknown migration flag 'turbo'" in capsys.readouterr().err


def test_tree_writes_both_hosts_and_lists_what_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tree", str(tmp_path), "--scenario", "clean"]) == 0
    out = capsys.readouterr().out
    base = tmp_path / "src" / "vfio" / HISI_MAINLINE_DEVICE / "migration"
    assert (base / "state").read_bytes() == b"STOP\n"
    assert (base / "hisi_acc" / "migf_data").read_bytes().endswith(b"length: 176\n")
    assert (
        tmp_path / "dst" / "vfio" / HISI_MAINLINE_DEVICE / "migration" / "state"
    ).read_bytes() == (b"RUNNING\n")
    assert (tmp_path / "src" / "vfio" / "0000:5e:00.1").is_dir()  # no migration/ there
    # The source VF was closed by QEMU: dev_data and cmd_state fail with EINVAL.
    assert not (base / "hisi_acc" / "dev_data").exists()
    assert f"src:vfio/{HISI_MAINLINE_DEVICE}/migration/hisi_acc/dev_data: Invalid argument" in out
    assert "migration succeeded" in out


def test_tree_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "keep").write_text("mine")
    with pytest.raises(SystemExit, match="not empty"):
        main(["tree", str(tmp_path)])
    assert (tmp_path / "src" / "keep").read_text() == "mine"


def test_run_instant_prints_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--instant", "--scenario", "match-mismatch"]) == 1
    out = capsys.readouterr().out
    assert "dst: RESUMING" in out and "src: PRE_COPY" in out
    assert out.strip().splitlines()[-1].startswith("outcome: failed: destination RESUMING")


@pytest.mark.parametrize(
    ("scenario", "status", "outcome"),
    [
        ("clean", 0, "outcome: succeeded: 176 bytes of device state arrived intact"),
        ("match-mismatch", 1, "outcome: failed: destination RESUMING -> RUNNING failed"),
        ("device-unplug", 1, "outcome: failed: the source VF vanished during STOP_COPY"),
        (
            "corrupt-transfer",
            3,
            "outcome: corrupted: the states say succeeded, but the data differs: 3 of 176 "
            "bytes changed on the way (first at offset 0x44)",
        ),
        ("hung-save", 4, "outcome: hung: no end within 0.5 s"),
    ],
)
def test_run_exit_status_says_how_the_migration_ended(
    capsys: pytest.CaptureFixture[str], scenario: str, status: int, outcome: str
) -> None:
    assert main(["run", "--instant", "--scenario", scenario, "--timeout", "0.5"]) == status
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(outcome)


def test_run_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for line in ("0  succeeded", "1  failed", "2  bad command line", "3  corrupted", "4  hung"):
        assert line in out
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "exit status 0 when it succeeded" in readme and "3 when the states" in readme


def test_every_option_has_a_help_text() -> None:
    import argparse

    from sim.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.dest}"
        for name, sub in subparsers.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []
