"""A device's file list is refreshed: an empty `migration/` that fills later, a file that
vanishes, a file that appears (issue 10). The poller's clock is a value the test moves,
so no test waits for the relisting periods to pass."""

from __future__ import annotations

from pathlib import Path

from sim.pair import HISI_MAINLINE_DEVICE, SimPair
from sim.sshserver import SimSshServer
from tests.fixtures.session import make_session
from tests.transport.helpers import trusting
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.layout import Layout
from vfio_tui.services.poller import RELIST_EVERY, RELIST_IDLE, DevicePoller
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.local import LocalTransport

DEV = "0000:3b:00.2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def empty_device(root: Path) -> Path:
    migration = root / "vfio" / DEV / "migration"
    migration.mkdir(parents=True)
    return migration


async def test_empty_migration_dir_is_listed_again_until_its_files_appear(
    tmp_path: Path,
) -> None:
    migration = empty_device(tmp_path)
    clock = Clock()
    session = make_session(tmp_path / "captures", f"local://{tmp_path}#{DEV}", f"sim://dst#{DEV}")
    side = await session.attach("source")
    assert side.files == [] and side.layout is Layout.CORE
    assert side.poller is not None
    clock.now = side.poller.listed_at  # the test's clock from here on
    side.poller.now = clock
    # The driver finishes creating its debugfs files (mainline hisi_acc layout).
    (migration / "hisi_acc").mkdir()
    (migration / "state").write_text("RUNNING\n")
    (migration / "features").write_text("stop-copy\n")
    for name in ("dev_data", "migf_data", "cmd_state"):
        (migration / "hisi_acc" / name).write_text("")
    first = await session.poll("source")
    assert first.snapshot.files == {} and first.layout is None  # no round trip added yet
    clock.now += RELIST_EVERY
    later = await session.poll("source")
    assert later.layout is Layout.HISI_MAINLINE
    assert side.layout is Layout.HISI_MAINLINE
    assert later.snapshot.files["state"].data == b"RUNNING\n"
    await session.close()


async def test_vanished_and_appearing_files_are_noticed(tmp_path: Path) -> None:
    migration = empty_device(tmp_path)
    (migration / "state").write_text("RUNNING\n")
    (migration / "features").write_text("stop-copy\n")
    local = LocalTransport(parse_host_url(f"local://{tmp_path}"), TransportOptions())
    clock = Clock()
    poller = DevicePoller(local, DEV, ["features", "state"], now=clock)
    listings = 0
    real_list = local.list_devices

    async def counted() -> dict[str, list[str]]:
        nonlocal listings
        listings += 1
        return await real_list()

    local.list_devices = counted  # type: ignore[method-assign]
    for _ in range(5):  # a healthy device: polls cost no listing
        clock.now += 1.0
        await poller.poll()
    assert listings == 0
    (migration / "features").unlink()  # vanishes
    clock.now += 1.0
    await poller.poll()  # finds it gone
    clock.now += RELIST_EVERY
    await poller.poll()
    assert listings == 1 and poller.files == ["state"]
    (migration / "features").write_text("stop-copy\n")  # appears again: seen within a minute
    clock.now += RELIST_IDLE - 1
    await poller.poll()
    assert poller.files == ["state"]
    clock.now += 1
    await poller.poll()
    assert poller.files == ["state", "features"]


async def test_remote_device_listed_again_over_ssh(pair: SimPair, tmp_path: Path) -> None:
    server = SimSshServer(pair.host("src"))
    await server.start()
    transport = trusting(server, tmp_path)
    clock = Clock()
    poller = DevicePoller(transport, HISI_MAINLINE_DEVICE, [], now=clock)  # listed while empty
    clock.now += RELIST_EVERY
    snap = await poller.poll()
    assert "state" in poller.files and "hisi_acc/migf_data" in poller.files
    assert snap.files["state"].data == b"RUNNING\n"
    await transport.close()
    server.close()
