"""What diffing large files costs, against cmp in the same run.

Run:  .venv/bin/python -m benchmarks.diff_cost [--mib 256] [--rounds 3] [--no-app]

  headless   like against like, whole commands on the same two files:
               identical        `vfio-tui diff A B`         vs `cmp A B`
               1000 scattered   `vfio-tui diff --list A B`  vs `cmp -l A B`
               fully different  `vfio-tui diff --list A B`  vs `cmp -l A B` (B = A xor 0xff)
             Baseline: GNU cmp. Both write into a pipe that this script drains and
             discards (not /dev/null: GNU cmp stops at the first difference when its output
             goes there). Rounds are interleaved (cmp, ours, cmp, ours, ...; the order flips
             each round); min / median / max seconds, the ratio of medians (target: within
             2x) and each command's peak memory (the child's maximum RSS from wait4; target
             under 64 MiB for ours).
  app        the time from opening the diff screen on two such captures until its
             first screen is shown (target: under half a second)
Ratios, and a time measured against its own target, not absolute speeds: the
machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")


def run(command: list[str], scratch: Path) -> tuple[float, int, int]:
    """Seconds, peak RSS in KiB, exit status: the output is read from a pipe and dropped.

    The peak comes from GNU time when there is one: a child forked from this script
    would start its maximum RSS at this script's (Linux keeps it across exec).
    """
    report = scratch / "rss"
    if GNU_TIME.exists():
        command = [str(GNU_TIME), "-f", "%M", "-o", str(report), *command]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert child.stdout is not None
    fd = child.stdout.fileno()
    while os.read(fd, 1 << 20):
        pass
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    peak = int(report.read_text().split()[-1]) if GNU_TIME.exists() else usage.ru_maxrss
    return elapsed, peak, child.returncode


def make_files(directory: Path, size: int) -> tuple[Path, Path, Path, Path]:
    a, same = directory / "a.bin", directory / "same.bin"
    scattered, full = directory / "scattered.bin", directory / "full.bin"
    data = bytearray(os.urandom(size))  # freed before the runs (see run())
    a.write_bytes(data)
    same.write_bytes(data)
    full.write_bytes(bytes(data).translate(bytes(x ^ 0xFF for x in range(256))))
    rng = random.Random(7)
    for spot in rng.sample(range(size), 1000):
        data[spot] ^= 0x5A
    scattered.write_bytes(data)
    return a, same, scattered, full


def spread(samples: list[float]) -> str:
    low, mid, high = min(samples), statistics.median(samples), max(samples)
    return f"{low:7.2f} {mid:7.2f} {high:7.2f}"


async def first_screen(directory: Path, a: Path, b: Path) -> float:
    from tests.fixtures.captures import add_capture
    from tests.ui.helpers import attached, screen_text, wait_for
    from vfio_tui.model.hosturl import parse_host_url
    from vfio_tui.services.captures import CaptureStore
    from vfio_tui.ui.app import VfioTuiApp
    from vfio_tui.ui.screens.diff import DiffScreen

    store = CaptureStore(directory / "captures", budget=4 << 30)  # two captures this size
    first = add_capture(store, "source", a.read_bytes(), file="big", kind="raw")
    second = add_capture(store, "destination", b.read_bytes(), file="big", kind="raw")
    app = VfioTuiApp(
        parse_host_url("sim://src#0000:3b:00.2"),
        parse_host_url("sim://dst#0000:3b:00.2"),
        capture_dir=directory / "c2",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        start = time.perf_counter()
        await app.push_screen(DiffScreen(store, first, second))
        await wait_for(pilot, lambda: "00000000" in screen_text(app), timeout=30)
        shown = time.perf_counter() - start
        await wait_for(pilot, lambda: "differ" in screen_text(app), timeout=120)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-app", action="store_true", help="skip the diff view's timing")
    args = parser.parse_args()
    ours = [sys.executable, "-m", "vfio_tui.cli", "diff"]
    with tempfile.TemporaryDirectory() as tmp:
        a, same, scattered, full = make_files(Path(tmp), args.mib << 20)
        cases = [
            ("identical", ["cmp", str(a), str(same)], [*ours, str(a), str(same)]),
            (
                "1000 scattered",
                ["cmp", "-l", str(a), str(scattered)],
                [*ours, "--list", str(a), str(scattered)],
            ),
            (
                "fully different",
                ["cmp", "-l", str(a), str(full)],
                [*ours, "--list", str(a), str(full)],
            ),
        ]
        print(f"{args.mib} MiB files, {args.rounds} interleaved rounds; baseline: GNU cmp")
        print(f"{'':<16} {'':<26} {'min':>7} {'median':>7} {'max':>7}  {'peak RSS':>9}")
        for label, theirs, mine in cases:
            times: dict[str, list[float]] = {"cmp": [], "ours": []}
            peaks: dict[str, int] = {"cmp": 0, "ours": 0}
            for round_ in range(args.rounds):
                order = [("cmp", theirs), ("ours", mine)]
                for name, command in order if round_ % 2 == 0 else order[::-1]:
                    elapsed, peak, status = run(command, Path(tmp))
                    if status not in (0, 1):
                        sys.exit(f"{' '.join(command)} exited {status}")
                    times[name].append(elapsed)
                    peaks[name] = max(peaks[name], peak)
            shown = {
                "cmp": " ".join(["cmp", *theirs[1:-2]]),
                "ours": " ".join(["vfio-tui", *mine[3:-2]]),
            }
            for name in ("cmp", "ours"):
                print(
                    f"{label if name == 'cmp' else '':<16} {shown[name]:<26} "
                    f"{spread(times[name])}  {peaks[name] / 1024:6.1f} MiB"
                )
            ratio = statistics.median(times["ours"]) / statistics.median(times["cmp"])
            print(f"{'':<16} {'ratio of medians':<26} {ratio:7.2f}x (target <= 2x)")
        if not args.no_app:
            shown_ms = asyncio.run(first_screen(Path(tmp), a, scattered)) * 1000
            print(f"first screen of the diff view: {shown_ms:.0f} ms (target < 500 ms)")


if __name__ == "__main__":
    main()
