"""Each named fault shows, on each host, what an engineer would see there, file by file."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sim.device import errno_name
from sim.host import SimHost
from sim.migration import Outcome
from sim.pace import Pace
from sim.pair import HISI_2023_DEVICE, HISI_MAINLINE_DEVICE, MTTY_DEVICE, SimPair, default_pair
from sim.scenarios import SCENARIOS, scenario
from vfio_tui.model.formats import parse_migf_data

BLOCKED = "BLOCKED"


async def observe(host: SimHost, device: str) -> dict[str, str]:
    """What `cat` of each file shows: its text, the errno's name, or BLOCKED."""
    seen: dict[str, str] = {}
    for path in (
        "state",
        "hisi_acc/migf_data",
        "hisi_acc/dev_data",
        "hisi_acc/cmd_state",
        "hisi_acc/attr",
        "hisi_acc/io_test",
    ):
        try:
            data = await asyncio.wait_for(host.read(f"vfio/{device}/migration/{path}"), 0.2)
        except TimeoutError:
            seen[path] = BLOCKED
        except OSError as exc:
            seen[path] = errno_name(exc.errno)
        else:
            seen[path] = data.decode()
    return seen


async def both(pair: SimPair, device: str = HISI_MAINLINE_DEVICE) -> tuple[dict[str, str], ...]:
    """observe() on the source, then on the destination."""
    return await observe(pair.src, device), await observe(pair.dst, device)


Run = Callable[..., Awaitable[tuple[SimPair, Outcome | None]]]


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    """run(scenario, device): a fresh pair, the migration given half a second to end."""
    pairs: list[SimPair] = []

    async def start(
        name: str, device: str = HISI_MAINLINE_DEVICE
    ) -> tuple[SimPair, Outcome | None]:
        pair = default_pair(Pace.instant())
        pairs.append(pair)
        migration = pair.start_migration(device, scenario(name))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pair.running[device]), 0.5)
        return pair, migration.outcome

    yield start
    for pair in pairs:
        await pair.stop()


async def test_clean(run: Run) -> None:
    pair, outcome = await run("clean")
    src, dst = await both(pair)
    assert outcome is Outcome.SUCCEEDED
    assert (src["state"], dst["state"]) == ("STOP\n", "RUNNING\n")
    assert src["hisi_acc/migf_data"] == dst["hisi_acc/migf_data"]
    assert src["hisi_acc/migf_data"].endswith("migrate data length: 176\n")
    assert src["hisi_acc/dev_data"] == "EINVAL"  # the source QEMU exited: not opened
    assert dst["hisi_acc/dev_data"].endswith("guest driver load: 0\ndata size: 176\n")
    assert dst["hisi_acc/cmd_state"] == "mailbox cmd channel ready!\n"
    assert src["hisi_acc/attr"] == "ENOENT"  # mainline layout: no 2023 files


async def test_match_mismatch(run: Run) -> None:
    pair, outcome = await run("match-mismatch")
    src, dst = await both(pair)
    assert outcome is Outcome.FAILED
    assert (src["state"], dst["state"]) == ("RUNNING\n", "RESUMING\n")
    # The destination closed with the refused bytes: its migf_data holds them.
    assert parse_migf_data(dst["hisi_acc/migf_data"].encode()).dump[0x0C:0x0E] == b"\x56\xa2"
    assert pair.dst.device(HISI_MAINLINE_DEVICE).match_problems(  # type: ignore[attr-defined]
        parse_migf_data(dst["hisi_acc/migf_data"].encode()).dump
    ) == ["dev_id differs"]


async def test_hung_save(run: Run) -> None:
    pair, outcome = await run("hung-save")
    src, dst = await both(pair)
    assert outcome is None  # never ends
    assert src["state"] == BLOCKED
    assert src["hisi_acc/dev_data"] == BLOCKED  # it takes the state mutex too
    assert src["hisi_acc/cmd_state"] == "mailbox cmd channel ready!\n"  # open_mutex only
    assert src["hisi_acc/migf_data"] == "EAGAIN"
    assert dst["state"] == "RESUMING\n"


async def test_mailbox_not_ready(run: Run) -> None:
    pair, outcome = await run("mailbox-not-ready")
    src, dst = await both(pair)
    assert outcome is Outcome.FAILED
    assert src["state"] == "RUNNING\n"
    assert src["hisi_acc/cmd_state"] == "EINVAL"
    # The aborted pre-copy left the 40 bytes of match data in migf_data.
    assert src["hisi_acc/migf_data"].endswith("migrate data length: 40\n")
    assert dst["state"] == "RESUMING\n"
    old, _ = await run("mailbox-not-ready", HISI_2023_DEVICE)
    seen = await observe(old.src, HISI_2023_DEVICE)
    assert seen["hisi_acc/io_test"] == "debug mailbox val:0xffffffff\n"


async def test_guest_driver_not_loaded(run: Run) -> None:
    pair, outcome = await run("guest-driver-not-loaded")
    src, dst = await both(pair)
    assert outcome is Outcome.SUCCEEDED
    assert dst["hisi_acc/migf_data"].endswith("migrate data length: 40\n")
    assert dst["hisi_acc/dev_data"] == "EBUSY"  # the VF is not ready
    assert src["hisi_acc/migf_data"] == dst["hisi_acc/migf_data"]
    old, _ = await run("guest-driver-not-loaded", HISI_2023_DEVICE)
    attr = (await observe(old.dst, HISI_2023_DEVICE))["hisi_acc/attr"]
    assert "device  ready: 1\n" in attr and "data     size: 40\n" in attr


async def test_corrupt_transfer(run: Run) -> None:
    pair, outcome = await run("corrupt-transfer")
    src, dst = await both(pair)
    assert outcome is Outcome.SUCCEEDED
    a = parse_migf_data(src["hisi_acc/migf_data"].encode()).dump
    b = parse_migf_data(dst["hisi_acc/migf_data"].encode()).dump
    assert [i for i in range(len(a)) if a[i] != b[i]] == [0x44, 0x61, 0x7B]


async def test_device_unplug(run: Run) -> None:
    pair, outcome = await run("device-unplug")
    src, dst = await both(pair)
    assert outcome is Outcome.FAILED
    assert set(src.values()) == {"ENOENT"}
    assert HISI_MAINLINE_DEVICE not in pair.src.list_dir("vfio")
    assert dst["state"] == "RESUMING\n"


async def test_precopy_hang(run: Run) -> None:
    pair, outcome = await run("precopy-hang", MTTY_DEVICE)
    src = await observe(pair.src, MTTY_DEVICE)
    assert outcome is None
    assert src["state"] == BLOCKED
    hisi, _ = await run("precopy-hang")
    seen = await observe(hisi.src, HISI_MAINLINE_DEVICE)
    assert seen["state"] == BLOCKED
    assert seen["hisi_acc/cmd_state"] == "mailbox cmd channel ready!\n"


def test_every_scenario_is_tested_here() -> None:
    tested = {
        name.removeprefix("test_").replace("_", "-")
        for name in globals()
        if name.startswith("test_")
    }
    assert set(SCENARIOS) <= tested


async def test_hisi_only_faults_refuse_other_devices() -> None:
    pair = default_pair(Pace.instant())
    mtty = pair.src.device(MTTY_DEVICE)
    assert not scenario("mailbox-not-ready").applies_to(mtty)
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("nope")
