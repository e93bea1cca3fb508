"""What the live view costs: time to first paint, and CPU while it watches.

Run:  .venv/bin/python -m benchmarks.app_cost [--rounds N] [--seconds S]

Each app runs in a real pseudo-terminal (80x24), as a person would run it.
  first paint   from exec to the first frame on the terminal, for `vfio-tui` on the
                simulator and for a bare Textual app in the same run (ratio; target <= 1.5x)
  CPU           share of one core used by `vfio-tui` on the simulator over S seconds:
                idle (the default 0.5 s poll, nothing changing; target < 2%), a 10 Hz poll,
                and paused
Ratios and shares, not times, are the result: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("BARE-APP-PAINTED")
Bare().run()
"""


def spawn(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    return process, master


def read_until(master: int, marker: bytes, timeout: float) -> bool:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return False
            seen = (seen + chunk)[-65536:]
            if marker in seen:
                return True
    return False


def drain(master: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                return


def stop(process: subprocess.Popen[bytes], master: int) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    os.close(master)


def first_paint(argv: list[str], marker: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    process, master = spawn(argv, env)
    painted = read_until(master, marker, 30)
    elapsed = time.perf_counter() - start
    stop(process, master)
    if not painted:
        raise RuntimeError(f"no first paint from {argv}")
    return elapsed


def cpu_share(argv: list[str], env: dict[str, str], seconds: float, keys: bytes = b"") -> float:
    process, master = spawn(argv, env)
    read_until(master, b"SOURCE", 30)
    if keys:
        os.write(master, keys)
    drain(master, 2.0)  # settle: connections made, first polls done
    before = _cpu_seconds(process.pid)
    wall = time.monotonic()
    drain(master, seconds)
    used = _cpu_seconds(process.pid) - before
    share = used / (time.monotonic() - wall)
    stop(process, master)
    return share


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    env.pop("NO_COLOR", None)
    # As installed: with bytecode, like Textual's own (pip compiles what it installs; an
    # editable checkout under PYTHONDONTWRITEBYTECODE would recompile every module each start).
    root = Path(__file__).resolve().parents[1]
    for package in ("vfio_tui", "sim"):
        compileall.compile_dir(root / package, quiet=1)
    with tempfile.TemporaryDirectory() as captures:
        app = [sys.executable, "-m", "vfio_tui.cli", "--capture-dir", captures]
        bare = [sys.executable, "-c", BARE_APP]
        ours, theirs = [], []
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            theirs.append(first_paint(bare, b"BARE-APP-PAINTED", env))
            ours.append(first_paint(app, b"SOURCE", env))
        bare_median, ours_median = statistics.median(theirs), statistics.median(ours)
        print(f"first paint   bare Textual app {bare_median * 1000:7.0f} ms   1.00x")
        print(
            f"first paint   vfio-tui (sim)   {ours_median * 1000:7.0f} ms   "
            f"{ours_median / bare_median:.2f}x   (target <= 1.50x)"
        )
        idle = cpu_share(app, env, args.seconds)
        fast = cpu_share([*app, "--interval", "0.1"], env, args.seconds)
        paused = cpu_share(app, env, args.seconds, keys=b"p")
        print(f"CPU           idle, 0.5 s poll {idle * 100:6.2f}% of a core   (target < 2%)")
        print(f"CPU           10 Hz poll       {fast * 100:6.2f}% of a core")
        print(f"CPU           paused           {paused * 100:6.2f}% of a core")


if __name__ == "__main__":
    main()
