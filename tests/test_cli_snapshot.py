"""`vfio-tui snapshot`: for a person, for a script, and its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.names import HISI_MAINLINE_DEVICE
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
    with pytest.raises(SystemExit):
        main(["snapshot", "ssh://host", "sim://dst", "--scenario", "clean"])


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
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "vfio_tui.cli",
            "snapshot",
            f"local://{root_only_tree}#{DEV}",
            f"sim://dst#{DEV}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": "/tmp"},
    )
    assert result.returncode == 1
    assert "Permission denied" in result.stderr and "run as root" in result.stderr
