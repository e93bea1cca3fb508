"""What the reader costs the watched host, per request: processes started and CPU.

Run (as root: it needs a PID namespace):  .venv/bin/python -m benchmarks.host_cost [--rounds N]

The real reader script (reader_protocol.SCRIPT) runs under `sh -s` in a PID namespace of
its own, under each shell it must support (dash, bash, busybox ash), on a debugfs-like
tree in a temporary directory. Per request it prints:
  processes  exactly how many processes the request started (the namespace's last PID)
  cpu        the reader's CPU per request, its own and its children's, summed over all
             rounds and divided by them (the kernel counts it in clock ticks, so a single
             request's figure would be 0 or 10 ms)
  wall       min / median / max ms of the request, seen from this process
Requests, interleaved round by round: a poll of three small files, the same poll with a
1 MiB `migf_data` (unchanged between polls), a listing of 1 device and of 64. The
baseline is a bare exec: `sh -c true` started on the host (what each command over SSH
starts at the least, before sshd's own work), its processes and CPU measured the same
way. Ratios and counts, not times, are the result: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.transport.helpers import SHELLS, NamespacedReader, debugfs_tree
from vfio_tui.transport.base import MAX_FILE_BYTES
from vfio_tui.transport.reader_protocol import list_request, read_request

FILES = ("state", "features", "hisi_acc/migf_data")
DEVICE = "0000:3b:00.1"


def bare_exec(shell: list[str], rounds: int) -> tuple[float, list[float]]:
    """CPU per `sh -c true` (getrusage of children) and its wall times."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    walls = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([*shell, "-c", "true"], check=True)
        walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return cpu / rounds, walls


def measure(shell: str, argv: list[str], tmp: Path, rounds: int) -> list[str]:
    small = debugfs_tree(tmp / "small", 1, FILES)
    big = debugfs_tree(tmp / "big", 1, FILES)
    (big / "vfio" / DEVICE / "migration" / "hisi_acc" / "migf_data").write_bytes(
        bytes(range(256)) * 4096
    )
    many = debugfs_tree(tmp / "many", 64, FILES)

    def poll(root: Path) -> Callable[[int], bytes]:
        paths = [f"{root}/vfio/{DEVICE}/migration/{name}" for name in FILES]
        return lambda rid: read_request(rid, 2.0, MAX_FILE_BYTES + 1, paths)

    requests: dict[str, Callable[[int], bytes]] = {
        "poll, 3 small files": poll(small),
        "poll, with 1 MiB dump": poll(big),
        "list 1 device": lambda rid: list_request(rid, str(small)),
        "list 64 devices": lambda rid: list_request(rid, str(many)),
    }
    reader = NamespacedReader(argv)
    rid = 1
    walls: dict[str, list[float]] = {name: [] for name in requests}
    cpu = dict.fromkeys(requests, 0.0)
    started: dict[str, list[int]] = {name: [] for name in requests}
    try:
        for make in requests.values():  # warm up
            reader.request(make(rid))
            rid += 1
        for _ in range(rounds):
            for name, make in requests.items():
                before_pid, before_cpu = reader.last_pid(), reader.cpu_seconds()
                start = time.perf_counter()
                reader.request(make(rid))
                walls[name].append(time.perf_counter() - start)
                cpu[name] += reader.cpu_seconds() - before_cpu
                started[name].append(reader.last_pid() - before_pid - 1)
                rid += 1
    finally:
        reader.close()
    bare_cpu, bare_walls = bare_exec(argv, rounds)
    rows = [row(shell, "bare exec (sh -c true)", [1], bare_cpu, bare_walls, bare_cpu)]
    for name in requests:
        rows.append(row(shell, name, started[name], cpu[name] / rounds, walls[name], bare_cpu))
    one, many_ = (statistics.median(walls[n]) for n in ("list 1 device", "list 64 devices"))
    rows.append(f"{shell:<12} listing 64 devices / listing 1 (wall, medians): {many_ / one:.2f}x")
    return rows


def row(
    shell: str, name: str, started: list[int], cpu: float, walls: list[float], bare: float
) -> str:
    low, mid, high = (1000 * x for x in (min(walls), statistics.median(walls), max(walls)))
    processes = (
        f"{min(started)}" if min(started) == max(started) else f"{min(started)}-{max(started)}"
    )
    return (
        f"{shell:<12} {name:<24} {processes:>9} {1000 * cpu:8.2f} ms ({cpu / bare:5.1f}x bare)"
        f" {low:8.2f} {mid:8.2f} {high:8.2f} ms"
    )


def main(rounds: int) -> None:
    print(f"{rounds} interleaved rounds; baseline: a bare `sh -c true` exec on the host")
    print(
        f"{'shell':<12} {'request':<24} {'processes':>9} {'cpu/request':>22}"
        f" {'min':>8} {'median':>8} {'max':>8}"
    )
    for shell, argv in SHELLS.items():
        if shutil.which(argv[0]) is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(measure(shell, argv, Path(tmp), rounds)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    main(parser.parse_args().rounds)
