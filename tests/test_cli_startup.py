"""`vfio-tui --help` loads only what the help needs: no asyncio, asyncssh or Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vfio_tui import cli, config
from vfio_tui.services import watch
from vfio_tui.transport import base

HEAVY = ("asyncio", "asyncssh", "textual")
PROBE = """
import sys
from vfio_tui.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in {heavy!r})))
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["diff", "--help"], ["snapshot", "--help"], ["watch", "--help"]],
    ids=["help", "version", "diff-help", "snapshot-help", "watch-help"],
)
def test_help_does_not_import_asyncio_asyncssh_or_textual(argv: list[str]) -> None:
    probe = PROBE.format(heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
    )
    *shown, loaded = done.stdout.splitlines()
    assert shown, "the help or version was printed"
    assert loaded == "", f"{' '.join(argv)} imported {loaded}"


def test_diff_does_not_import_asyncio() -> None:
    probe = PROBE.format(heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, "diff", sys.executable, sys.executable],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("identical\n")
    assert done.stdout.splitlines()[-1] == ""


def test_defaults_shown_in_help_are_the_ones_used() -> None:
    assert cli.SHOWN_READ_TIMEOUT == base.DEFAULT_READ_TIMEOUT
    assert cli.SHOWN_POLL_INTERVAL == config.DEFAULT_POLL_INTERVAL
    assert cli.SHOWN_POLL_INTERVAL_RANGE == config.POLL_INTERVAL_RANGE
    assert cli.SHOWN_WATCH_INTERVAL == watch.DEFAULT_INTERVAL
    assert cli.SHOWN_GIVE_UP_AFTER == watch.DEFAULT_GIVE_UP_AFTER
    app_help = subprocess.run(
        [sys.executable, "-m", "vfio_tui.cli", "--help"], capture_output=True, text=True
    ).stdout
    assert f"(default {base.DEFAULT_READ_TIMEOUT:g})" in " ".join(app_help.split())
