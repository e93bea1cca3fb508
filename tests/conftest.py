"""Shared fixtures: simulated pairs, `vfio-sim tree` directories, a real OpenSSH sshd."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sim.pace import Pace
from sim.pair import SimPair, default_pair
from sim.scenarios import scenario
from sim.tree import write_trees
from tests.fixtures.sshd import Sshd, running_sshd


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
    asyncio.run(write_trees(directory, scenario("clean"), "0000:3b:00.2"))
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
