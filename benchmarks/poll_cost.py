"""What one poll of a device costs over SSH, against a bare command round trip.

Run:  .venv/bin/python -m benchmarks.poll_cost [--rounds N]

Over both servers (the simulator's asyncssh server, and OpenSSH's sshd reading a
`vfio-sim tree` directory) it times, on one connection:
  bare      `true` run as its own command (one channel, one exec: the baseline)
  poll      one vfio-tui poll: every pure-read file of the device in one request
  separate  the same files with one `cat` command each
and prints medians and the ratio to the bare round trip. Target: poll <= 1.25 bare.
Ratios, not times, are the result: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sim.pace import Pace
from sim.pair import HISI_MAINLINE_DEVICE, default_pair
from sim.scenarios import scenario
from sim.sshserver import serve_pair
from sim.tree import write_trees
from tests.fixtures.sshd import current_user, running_sshd
from tests.transport.helpers import trusting
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.ssh import SshTransport

FILES = ["state", "features", "hisi_acc/migf_data"]


async def timed(rounds: int, step: Callable[[], Awaitable[object]]) -> float:
    await step()  # warm up (and connect)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def measure(name: str, transport: SshTransport, root: str, rounds: int) -> list[str]:
    base = f"{root}/vfio/{HISI_MAINLINE_DEVICE}/migration"

    async def poll() -> None:
        result = await transport.read_files(HISI_MAINLINE_DEVICE, FILES)
        assert all(r.ok for r in result.values()), result

    async def separate() -> None:
        for path in FILES:
            await transport.run(f"cat -- {shlex.quote(f'{base}/{path}')}")

    await transport.connect()
    bare = await timed(rounds, lambda: transport.run("true"))
    polled = await timed(rounds, poll)
    apart = await timed(rounds, separate)
    await transport.close()
    rows = []
    for label, value in (("bare", bare), ("poll", polled), (f"separate x{len(FILES)}", apart)):
        rows.append(f"{name:<16} {label:<12} {value * 1000:9.2f} ms {value / bare:8.2f}x")
    return rows


async def main(rounds: int) -> None:
    rows = [f"{'server':<16} {'what':<12} {'median':>12} {'vs bare':>9}"]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        await write_trees(tree, scenario("clean"), HISI_MAINLINE_DEVICE)

        pair = default_pair(Pace.instant())
        (server,) = await serve_pair([pair.src])
        sim = trusting(server, Path(tmp), user="bench")
        pair.start_migration(HISI_MAINLINE_DEVICE, scenario("clean"))  # fills migf_data
        await pair.running[HISI_MAINLINE_DEVICE]
        rows += await measure("asyncssh (sim)", sim, "/sys/kernel/debug", rounds)
        server.kill()

        with running_sshd(Path(tmp) / "sshd") as sshd:
            config = sshd.ssh_config(current_user())
            real = SshTransport(
                parse_host_url(f"ssh://target{tree}/src"),
                TransportOptions(ssh_config=[str(config)]),
            )
            rows += await measure("OpenSSH sshd", real, f"{tree}/src", rounds)
    print("\n".join(rows))
    print(
        "\n`bare` starts the login shell (and its rc files) for every command; a poll goes to\n"
        "the reader vfio-tui keeps running, so it costs one round trip plus the reads."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    asyncio.run(main(parser.parse_args().rounds))
