"""Fixtures shared by the transport tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sim.sshserver import SimSshServer


@pytest.fixture
async def servers() -> AsyncIterator[list[SimSshServer]]:
    """The simulator's SSH servers a test starts (append them); closed after the test."""
    started: list[SimSshServer] = []
    yield started
    for server in started:
        server.close()
