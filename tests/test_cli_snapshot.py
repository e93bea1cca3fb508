"""`vfio-tui snapshot`: for a person, for a script, and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from sim.names import HISI_MAINLINE_DEVICE
from tests.fixtures.nobody import snapshot_as_nobody
from tests.fixtures.sshd import Sshd, current_user
from vfio_tui.cli import main
from vfio_tui.model.snapshot import DeviceSnapshot

DEV = HISI_MAINLINE_DEVICE


def test_json_after_a_clean_simulated_migration(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["snapshot", f"sim://src#{DEV}", f"sim://dst#{DEV}", "--json", "--scenario", "clean"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["source"]["host"] == "sim://src" and out["source"]["device"] == DEV
    assert out["source"]["state"] == "STOP" and out["destination"]["state"] == "RUNNING"
    assert (
        out["source"]["files"]["hisi_acc/migf_data"]
        == out["destination"]["files"]["hisi_acc/migf_data"]
    )
    assert "hisi_acc/dev_data" not in out["source"]["files"]  # actions are never polled
    DeviceSnapshot.from_json(out["source"])  # what we print, we can load back


def test_side_by_side_marks_differences(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["snapshot", f"sim://src#{DEV}", f"sim://dst#{DEV}", "--scenario", "corrupt-transfer"]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("SOURCE sim://src") and "DESTINATION sim://dst" in lines[0]
    differing = [line for line in lines if " ≠ " in line]
    assert any(line.startswith("STOP") for line in differing)
    assert sum(1 for line in differing if line.startswith("00")) == 3  # three corrupted rows
    assert all(len(line) <= 80 for line in lines)


def test_a_side_that_cannot_be_read_fails_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["snapshot", "sim://src", f"sim://dst#{DEV}", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    assert out["source"]["error"]["kind"] == "not-found"
    assert "pick one with #DEVICE" in captured.err
    assert out["destination"]["state"] == "ERROR"  # never opened: what hisi_acc shows


def test_blocked_state_read_is_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "snapshot",
            f"sim://src#{DEV}",
            f"sim://dst#{DEV}",
            "--json",
            "--scenario",
            "hung-save",
            "--timeout",
            "0.3",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    state = json.loads(captured.out)["source"]["files"]["state"]
    assert state["error"]["kind"] == "timed-out"
    assert "source" in captured.err and "did not return" in captured.err


def test_bad_urls_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["snapshot", "ssh://user:pw@host", "sim://dst"])
    assert caught.value.code == 2
    assert "no passwords" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["snapshot", "ssh://host", "sim://dst", "--scenario", "clean"])
    assert caught.value.code == 2
    assert "--scenario applies to the simulated hosts (sim://src, sim://dst) only" in (
        capsys.readouterr().err
    )


def test_through_sshd_from_the_command_line(sshd: Sshd, clean_tree: Path) -> None:
    config = sshd.ssh_config(current_user(), alias="src")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vfio_tui.cli",
            "snapshot",
            f"ssh://src{clean_tree}/src#{DEV}",
            f"local://{clean_tree}/dst#{DEV}",
            "--json",
            "--ssh-config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["source"]["state"] == "STOP" and out["destination"]["state"] == "RUNNING"
    assert out["source"]["host"].startswith("ssh://src/")


def test_local_debugfs_as_non_root_says_run_as_root(root_only_tree: Path) -> None:
    result = snapshot_as_nobody(f"local://{root_only_tree}#{DEV}", f"sim://dst#{DEV}", json=False)
    assert result.returncode == 1
    assert "Permission denied" in result.stderr and "run as root" in result.stderr


# --- text from a host never reaches the terminal raw ------------------------------------

ESC_NAME = "\x1b]0;pwned\x07"


def hostile_tree(root: Path, state: bytes) -> Path:
    """A local debugfs tree whose files and device names carry escape sequences."""
    for name, content in ((DEV, state), (ESC_NAME, b"RUNNING\n")):
        migration = root / "vfio" / name / "migration"
        migration.mkdir(parents=True)
        (migration / "state").write_bytes(content)
        (migration / "features").write_bytes(b"stop-copy\n\x1b[2J\x1b[H\n")
    return root


def test_host_text_is_escaped_in_the_text_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = hostile_tree(tmp_path, b"RUNNING\n")
    # The device named with an escape sequence is refused by the walk, so the
    # destination's only acceptable device is the one taken.
    code = main(["snapshot", f"local://{tree}#{DEV}", f"local://{tree}"])
    captured = capsys.readouterr()
    assert code == 0
    for text in (captured.out, captured.err):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J\\x1b[H" in captured.out  # the features file, shown escaped


def test_a_hostile_device_name_on_the_command_line_is_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = hostile_tree(tmp_path, b"RUNNING\n")
    with pytest.raises(SystemExit) as exit_:
        main(["snapshot", f"local://{tree}#{DEV}", f"local://{tree}#{quote(ESC_NAME)}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;pwned\\x07" in err and "is not a device name" in err


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (b"\x1b[2J\n", 'state: read "\\x1b[2J", which is not a migration state'),
        (b"", "state: the file is empty, not a migration state"),
        (b"RUNNING-ish\n", 'state: read "RUNNING-ish", which is not a migration state'),
    ],
)
def test_a_garbage_or_empty_state_says_what_was_read_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: bytes, says: str
) -> None:
    tree = hostile_tree(tmp_path, state)
    code = main(["snapshot", f"local://{tree}#{DEV}", f"local://{tree}#{DEV}"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"source local://{tree}#{DEV}: {says}" in captured.err
    assert "\x1b" not in captured.out + captured.err
    assert "state  (not a state)" in captured.out


# --- the side-by-side layout ------------------------------------------------------------


def separator_columns(text: str) -> set[int]:
    marks = ("│", "≠", "┼")
    return {
        next(i for i, ch in enumerate(line) if ch in marks)
        for line in text.splitlines()
        if any(m in line for m in marks)
    }


def test_columns_meet_and_urls_are_never_split(capsys: pytest.CaptureFixture[str]) -> None:
    from vfio_tui.services.sidebyside import Side, render_side_by_side

    code = main(
        ["snapshot", f"sim://src#{DEV}", f"sim://dst#{DEV}", "--scenario", "corrupt-transfer"]
    )
    assert code != 2
    out = capsys.readouterr().out
    assert len(separator_columns(out)) == 1  # every │, ≠ and ┼ in one column
    assert "|" not in out
    long_url = "ssh://operator@source-host.lab.example.com:2222/sys/kernel/debug"
    error = f"several devices; pick one with #DEVICE: {long_url}#0000:3b:00.2"
    text = render_side_by_side(
        Side(f"SOURCE {long_url}", error=error), Side("DESTINATION sim://dst", error="x"), 80
    )
    lines = text.splitlines()
    assert f"SOURCE {long_url}" in lines
    assert f"{long_url}#0000:3b:00.2" in lines
    assert len(separator_columns(text)) == 1


# --- command-line values that are refused ------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "-inf", "inf", "1e999", "soon"])
def test_out_of_range_timeouts_are_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["snapshot", "sim://src", "sim://dst", f"--timeout={value}"])
    assert caught.value.code == 2
    assert "--timeout" in (err := capsys.readouterr().err)
    assert "a number of seconds more than 0 and at most 600" in err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ssh://[zz]:22", "the address in brackets is not an IPv6 address"),
        ("ssh://[::1", "the address in brackets has no closing bracket"),
    ],
)
def test_bracketed_hosts_that_are_not_addresses(
    url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["snapshot", url, "sim://dst"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "invalid _url value" not in err


def test_help_names_the_commands_and_version_is_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "vfio-tui snapshot SRC DST" in out and "vfio-tui diff A B" in out
    for argv in (["--version"], ["snapshot", "--version"], ["diff", "--version"]):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code  # type: ignore[assignment]
        assert code == 0
        assert capsys.readouterr().out.startswith("vfio-tui 0.")
