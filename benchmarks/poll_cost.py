"""What one poll of a device costs over SSH, against a bare command round trip.

Run:  .venv/bin/python -m benchmarks.poll_cost [--rounds N]

Over both servers (the simulator's asyncssh server, and OpenSSH's sshd reading a
`vfio-sim tree` directory) it times, on one connection:
  bare      `true` run as its own command (one channel, one exec): the baseline
  poll      one vfio-tui poll: every pure-read file of the device in one request
  separate  the same files with one `cat` command each
  list N    listing a tree of N devices (1 and 64, each on its own connection), as a
            ratio to listing one (target: 64 <= 2x)
Rounds are interleaved (bare, poll, separate, bare, ...), and each prints min / median /
max and the ratio of medians to the same connection's bare exec (target: poll <= 1.2x).

The baseline runs in a clean login environment: over sshd as `vfiotui-bench`, a user
with no rc files (created once when run as root), because bash runs ~/.bashrc for every
command sshd starts, and a heavy one (root's `pyenv init` here) would be paid by every
bare exec but only once by the long-lived reader. The same figures as the current user,
rc files and all, are printed too, labelled as such.
Ratios, not times, are the result: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import shlex
import statistics
import subprocess
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
from tests.transport.helpers import debugfs_tree, trusting
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.ssh import SshTransport

FILES = ["state", "features", "hisi_acc/migf_data"]
CLEAN_USER = "vfiotui-bench"
RC_FILES = (".bashrc", ".bash_profile", ".bash_login", ".profile", ".bash_logout")


def clean_user() -> str | None:
    """A login user with no rc files of its own (root only; None when this cannot be)."""
    if os.geteuid() != 0:
        return None
    try:
        home = Path(pwd.getpwnam(CLEAN_USER).pw_dir)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--create-home", "--shell", "/bin/bash", CLEAN_USER],
            check=True,
        )
        subprocess.run(["usermod", "-p", "*", CLEAN_USER], check=True)  # keys only
        home = Path(pwd.getpwnam(CLEAN_USER).pw_dir)
    for name in RC_FILES:  # useradd copies /etc/skel's
        (home / name).unlink(missing_ok=True)
    return CLEAN_USER


async def interleaved(
    rounds: int, steps: dict[str, Callable[[], Awaitable[object]]]
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        await step()  # warm up (and connect)
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            await step()
            samples[name].append(time.perf_counter() - start)
    return samples


async def measure(name: str, transport: SshTransport, root: str, rounds: int) -> list[str]:
    base = f"{root}/vfio/{HISI_MAINLINE_DEVICE}/migration"

    async def poll() -> None:
        result = await transport.read_files(HISI_MAINLINE_DEVICE, FILES)
        assert all(r.ok for r in result.values()), result

    async def separate() -> None:
        for path in FILES:
            await transport.run(f"cat -- {shlex.quote(f'{base}/{path}')}")

    samples = await interleaved(
        rounds,
        {
            "bare": lambda: transport.run("true"),
            "poll": poll,
            f"separate x{len(FILES)}": separate,
        },
    )
    await transport.close()
    bare = statistics.median(samples["bare"])
    rows = []
    for label, times in samples.items():
        low, mid, high = (1000 * x for x in (min(times), statistics.median(times), max(times)))
        rows.append(
            f"{name:<42} {label:<12} {low:8.2f} {mid:8.2f} {high:8.2f} ms "
            f"{statistics.median(times) / bare:8.2f}x"
        )
    return rows


async def listing(user: str, tmp: Path, config: Path, rounds: int) -> list[str]:
    """Listing 64 devices against listing 1, each on its own connection, interleaved."""
    transports = {}
    for count in (1, 64):
        root = debugfs_tree(tmp / f"list{count}", count)
        transports[f"list {count}"] = SshTransport(
            parse_host_url(f"ssh://target{root}"), TransportOptions(ssh_config=[str(config)])
        )

    def lister(transport: SshTransport) -> Callable[[], Awaitable[object]]:
        return transport.list_devices

    samples = await interleaved(rounds, {n: lister(t) for n, t in transports.items()})
    for transport in transports.values():
        await transport.close()
    one = statistics.median(samples["list 1"])
    rows = []
    for label, times in samples.items():
        low, mid, high = (1000 * x for x in (min(times), statistics.median(times), max(times)))
        rows.append(
            f"{f'OpenSSH sshd ({user})':<42} {label:<12} {low:8.2f} {mid:8.2f} {high:8.2f} ms "
            f"{statistics.median(times) / one:8.2f}x (vs list 1)"
        )
    return rows


async def main(rounds: int) -> None:
    rows = [
        f"{'server (login)':<42} {'what':<12} {'min':>8} {'median':>8} {'max':>8}    {'vs bare':>8}"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # the clean user reads the tree too
        tree = Path(tmp) / "tree"
        await write_trees(tree, scenario("clean"), HISI_MAINLINE_DEVICE)

        pair = default_pair(Pace.instant())
        (server,) = await serve_pair([pair.src])
        sim = trusting(server, Path(tmp), user="bench")
        pair.start_migration(HISI_MAINLINE_DEVICE, scenario("clean"))  # fills migf_data
        await pair.running[HISI_MAINLINE_DEVICE]
        rows += await measure("asyncssh (sim, no shell)", sim, "/sys/kernel/debug", rounds)
        server.kill()

        with running_sshd(Path(tmp) / "sshd") as sshd:
            logins = [(clean_user(), "no rc files"), (current_user(), "its own rc files")]
            for user, note in logins:
                if user is None:
                    rows.append(f"(not root: no clean login user `{CLEAN_USER}` to measure)")
                    continue
                config = sshd.ssh_config(user)
                real = SshTransport(
                    parse_host_url(f"ssh://target{tree}/src"),
                    TransportOptions(ssh_config=[str(config)]),
                )
                rows += await measure(f"OpenSSH sshd ({user}, {note})", real, f"{tree}/src", rounds)
            user = clean_user() or current_user()
            rows += await listing(user, Path(tmp), sshd.ssh_config(user), rounds)
    print(f"{rounds} interleaved rounds; baseline: a bare `true` exec on the same connection")
    print("\n".join(rows))
    print(
        "\nA bare exec starts the login shell for every command, with the login's rc files;\n"
        "a poll goes to the reader vfio-tui keeps running. Compare against the clean login."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    asyncio.run(main(parser.parse_args().rounds))
