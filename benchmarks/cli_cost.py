"""What `vfio-tui --help` costs at start-up, against `python -c pass` in the same run.

Run:  .venv/bin/python -m benchmarks.cli_cost [--rounds 30]

Baseline: the same interpreter (this venv's python, so both pay its site and .pth
start-up) running `-c pass`. Ours: the installed `vfio-tui` entry point with `--help`,
`diff --help` and `snapshot --help`. Rounds are interleaved (baseline, then each command,
then again), each a whole process; min / median / max in ms and the ratio of medians
(target: `--help` within 2x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def entry_point() -> str:
    beside = Path(sys.executable).with_name("vfio-tui")
    if beside.exists():
        return str(beside)
    found = shutil.which("vfio-tui")
    if found is None:
        sys.exit("vfio-tui is not installed in this environment")
    return found


def once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    ours = entry_point()
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "vfio-tui --help": [ours, "--help"],
        "vfio-tui diff --help": [ours, "diff", "--help"],
        "vfio-tui snapshot --help": [ours, "snapshot", "--help"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    env = dict(os.environ)
    for command in commands.values():  # warm the page cache and the bytecode
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env)
    for _ in range(args.rounds):
        for name, command in commands.items():
            samples[name].append(once(command))
    base = statistics.median(samples["python -c pass (baseline)"])
    print(f"{args.rounds} interleaved rounds; baseline: {sys.executable} -c pass")
    print(f"{'':<27} {'min':>7} {'median':>7} {'max':>7}  ratio of medians")
    for name, times in samples.items():
        low, mid, high = (1000 * x for x in (min(times), statistics.median(times), max(times)))
        target = "  (target <= 2x)" if name == "vfio-tui --help" else ""
        print(f"{name:<27} {low:7.1f} {mid:7.1f} {high:7.1f}  {mid / 1000 / base:.2f}x{target}")


if __name__ == "__main__":
    main()
