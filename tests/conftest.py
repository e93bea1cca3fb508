"""Shared fixtures: simulated pairs, `vfio-sim tree` directories, a real OpenSSH sshd."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sim.names import HISI_MAINLINE_DEVICE
from sim.pace import Pace
from sim.pair import SimPair, default_pair
from sim.scenarios import scenario
from sim.tree import write_trees
from tests.fixtures.sshd import Sshd, ensure_test_users, running_sshd


@pytest.fixture
async def pair() -> AsyncIterator[SimPair]:
    """A fresh simulated pair that moves instantly."""
    made = default_pair(Pace.instant())
    yield made
    await made.stop()


@pytest.fixture(scope="session")
def clean_tree() -> Iterator[Path]:
    """`vfio-sim tree` after a clean migration, world-readable so test users can read it."""
    directory = Path(tempfile.mkdtemp(prefix="vfio-tui-tree-"))
    directory.chmod(0o755)
    asyncio.run(write_trees(directory, scenario("clean"), HISI_MAINLINE_DEVICE))
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    """OpenSSH's sshd on a free loopback port, for this test worker."""
    directory = Path(tempfile.mkdtemp(prefix="vfio-tui-sshd-"))
    with running_sshd(directory) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create the test users (CI runs as root)")


@pytest.fixture
def root_only_tree(clean_tree: Path, as_root: None) -> Iterator[Path]:
    """A copy of the source tree that only root may read, like real debugfs."""
    directory = Path(tempfile.mkdtemp(prefix="vfio-tui-rootonly-"))
    shutil.copytree(clean_tree / "src", directory / "debug")
    (directory / "debug").chmod(0o700)
    directory.chmod(0o755)
    yield directory / "debug"
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def test_users(as_root: None) -> None:
    """The unprivileged SSH test users (one with a sudo rule for `sh -s`)."""
    ensure_test_users()
