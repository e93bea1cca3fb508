"""The same snapshot comes back from the simulator, from a `vfio-sim tree` directory read
locally, and from that directory read through a real OpenSSH sshd."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim.pair import HISI_MAINLINE_DEVICE, SimPair
from sim.scenarios import scenario
from tests.fixtures.sshd import Sshd, current_user
from tests.transport.helpers import read_everything
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.local import LocalTransport
from vfio_tui.transport.sim import SimTransport
from vfio_tui.transport.ssh import SshTransport


async def test_sim_local_and_sshd_agree(pair: SimPair, clean_tree: Path, sshd: Sshd) -> None:
    pair.start_migration(HISI_MAINLINE_DEVICE, scenario("clean"))
    await pair.running[HISI_MAINLINE_DEVICE]
    options = TransportOptions()
    for host in ("src", "dst"):
        simulated = SimTransport(parse_host_url(f"sim://{host}"), options, partial(pair.host, host))
        local = LocalTransport(parse_host_url(f"local://{clean_tree}/{host}"), options)
        config = sshd.ssh_config(current_user())
        remote = SshTransport(
            parse_host_url(f"ssh://target{clean_tree}/{host}"),
            TransportOptions(known_hosts=str(sshd.known_hosts), ssh_config=[str(config)]),
        )
        try:
            from_sim = await read_everything(simulated)
            from_local = await read_everything(local)
            from_sshd = await read_everything(remote)
        finally:
            await remote.close()
        assert from_sim == from_local == from_sshd
        assert len(from_sim) == 3
        state = from_sim[HISI_MAINLINE_DEVICE]["state"].data
        assert state == (b"STOP\n" if host == "src" else b"RUNNING\n")
        assert from_sim[HISI_MAINLINE_DEVICE]["hisi_acc/migf_data"].ok
