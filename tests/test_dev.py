"""`./dev run`: the install's chatter stays out of the way, its errors do not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BANNER = "BuildBackendWarning: Editable installation.\n!!\n********\nPlease be careful"

FAKE_PYTHON = """#!/bin/sh
# A stand-in for .venv/bin/python: pip prints what setuptools prints, or fails.
case "$*" in
  *"-e .[test,dev]"*)
    echo "{banner}" >&2
    [ -n "$FAIL" ] && {{ echo "ERROR: no such dist" >&2; exit 1; }}
    exit 0 ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON.format(banner=BANNER))
    (bin_dir / "vfio-tui").write_text('#!/bin/sh\necho "the app starts"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return tmp_path


def run_dev(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [str(checkout / "dev"), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def test_the_editable_install_banner_is_not_printed(checkout: Path) -> None:
    result = run_dev(checkout)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the app starts\n"
    assert "Editable installation" not in result.stderr and "!!" not in result.stderr
    assert "Editable installation" in (checkout / ".venv" / "install.log").read_text()


def test_a_failed_install_shows_everything(checkout: Path) -> None:
    result = run_dev(checkout, FAIL="1")
    assert result.returncode == 1
    assert "ERROR: no such dist" in result.stderr
    assert "installing into .venv failed" in result.stderr
    assert "the app starts" not in result.stdout
