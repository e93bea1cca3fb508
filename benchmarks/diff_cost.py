"""What diffing large captures costs, against cmp in the same run.

Run:  .venv/bin/python -m benchmarks.diff_cost [--mib 256] [--rounds 5]

  headless   `vfio-tui diff A B` against `cmp A B` (identical files) and against
             `cmp -l A B` (1000 scattered differences), whole commands, medians,
             as ratios (target: within 2x)
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


def timed(command: list[str], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        # Into a pipe, not /dev/null: GNU cmp stops at the first difference when it
        # sees its output goes nowhere.
        subprocess.run(command, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def make_files(directory: Path, size: int) -> tuple[Path, Path, Path]:
    a, same, scattered = directory / "a.bin", directory / "same.bin", directory / "scattered.bin"
    data = bytearray(os.urandom(size))
    a.write_bytes(data)
    same.write_bytes(data)
    rng = random.Random(7)
    for spot in rng.sample(range(size), 1000):
        data[spot] ^= 0x5A
    scattered.write_bytes(data)
    return a, same, scattered


async def first_screen(directory: Path, a: Path, b: Path) -> float:
    from tests.fixtures.captures import add_capture
    from tests.ui.helpers import attached, screen_text, wait_for
    from vfio_tui.model.hosturl import parse_host_url
    from vfio_tui.services.captures import CaptureStore
    from vfio_tui.ui.app import VfioTuiApp
    from vfio_tui.ui.screens.diff import DiffScreen

    store = CaptureStore(directory / "captures")
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
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ours = [sys.executable, "-m", "vfio_tui.cli", "diff"]
    with tempfile.TemporaryDirectory() as tmp:
        a, same, scattered = make_files(Path(tmp), args.mib << 20)
        rows = []
        for label, other, baseline in (
            ("identical", same, ["cmp"]),
            ("1000 scattered", scattered, ["cmp", "-l"]),
        ):
            theirs = timed([*baseline, str(a), str(other)], args.rounds)
            mine = timed([*ours, str(a), str(other)], args.rounds)
            rows.append(
                f"{label:<15} {' '.join(baseline):<7} {theirs * 1000:7.0f} ms   "
                f"vfio-tui diff {mine * 1000:7.0f} ms   {mine / theirs:.2f}x "
                "(target <= 2x)"
            )
        shown = asyncio.run(first_screen(Path(tmp), a, scattered))
    print(f"{args.mib} MiB files")
    print("\n".join(rows))
    print(f"first screen of the diff view: {shown * 1000:.0f} ms (target < 500 ms)")


if __name__ == "__main__":
    main()
