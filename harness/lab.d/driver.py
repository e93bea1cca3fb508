"""Host half of harness/lab: run one named migration in the lab guest and record it.

Run by `harness/lab run NAME` with the project's .venv Python (it needs asyncssh):

    driver.py --state harness/out/lab --run NAME --out FILE

Over one SSH connection to the guest's dropbear it re-creates the two mtty
devices and starts the two inner QEMUs (lab.d/guest.sh setup), drives the
migration through each QEMU's QMP socket (a direct-tcpip channel to the
guest's loopback), and meanwhile runs `vfio-tui watch --json` on both devices
over SSH, as a user would, from before the migration until it says how it
ended. It writes one JSON record (schema: harness/LAB.md): both QEMUs' QMP
events and final query-migrate, the in-guest poller's debugfs states (all
stamped by the guest's real-time clock), and what the app saw and concluded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncssh

RUNS = ("clean", "slow-precopy", "held-stop-copy", "port-mismatch", "cancel", "destination-killed")
SRC_QMP, DST_QMP, STREAM = 4401, 4402, 4444
# slow runs: 8 MiB of random RAM (guest.sh) make pre-copy last about 8 s
SLOW_BANDWIDTH = 170_000  # bytes per second (seen moving 1.2 MB/s regardless: LAB.md)
HOLD_S = 4.0  # held-stop-copy: how long the source is parked in STOP_COPY
FINAL = {"completed", "failed", "cancelled"}
DEADLINE = 180.0
# half watch's default 0.2 s: port-mismatch's pre-copy lasts 0.2 to 0.6 s, and a
# watch at 0.2 s was seen to miss it (then it says stuck after 30 s: harness/LAB.md)
WATCH_INTERVAL = 0.1
WATCH_GIVE_UP = 90.0  # vfio-tui watch --give-up-after: every run ends well within it
WATCH_READY_S = 60.0  # how long its two SSH readers may take to start on a busy machine
WATCH_SETTLE_S = 1.0  # after that, time for its first reading of both devices


class QmpClosed(Exception):
    pass


class Qmp:
    """One QMP client: commands in order, events collected with QEMU's own timestamps."""

    def __init__(
        self, side: str, reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]
    ):
        self.side = side
        self.reader, self.writer = reader, writer
        self.events: list[dict[str, Any]] = []
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed_at: float | None = None  # host time.time() when the socket closed
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, conn: asyncssh.SSHClientConnection, side: str, port: int) -> Qmp:
        reader, writer = await conn.open_connection("127.0.0.1", port, encoding=None)
        qmp = cls(side, reader, writer)
        greeting = json.loads(await reader.readline())
        qmp.version = greeting["QMP"]["version"]["qemu"]
        qmp.task = asyncio.create_task(qmp._read())
        await qmp.cmd("qmp_capabilities")
        return qmp

    async def _read(self) -> None:
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                if "event" in msg:
                    ts = msg.get("timestamp", {})
                    self.events.append(
                        {
                            "t": ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6,
                            "event": msg["event"],
                            "data": msg.get("data", {}),
                        }
                    )
                    self.changed.set()
                else:
                    await self.replies.put(msg)
        except (asyncssh.Error, OSError, ConnectionError):
            pass
        self.closed_at = time.time()
        self.changed.set()
        await self.replies.put({"error": {"class": "Closed", "desc": "QMP socket closed"}})

    async def cmd(self, name: str, **arguments: Any) -> dict[str, Any]:
        if self.closed_at is not None:
            raise QmpClosed(f"{self.side} QMP closed")
        msg: dict[str, Any] = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.writer.write(json.dumps(msg).encode() + b"\n")
        reply = await asyncio.wait_for(self.replies.get(), 60)
        if "error" in reply:
            if reply["error"].get("class") == "Closed":
                raise QmpClosed(f"{self.side} QMP closed")
            raise RuntimeError(f"{self.side} {name}: {reply['error']}")
        return reply.get("return", {})  # type: ignore[no-any-return]

    async def wait_for(self, pred: Any, timeout: float = DEADLINE) -> bool:
        """Until pred(events) holds or the socket closes; False on timeout/close."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            if pred(self.events):
                return True
            if self.closed_at is not None:
                return False
            self.changed.clear()
            left = end - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return False


def migration_status(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["status"] for e in events if e["event"] == "MIGRATION"]


def has_status(*statuses: str) -> Any:
    return lambda events: any(s in statuses for s in migration_status(events))


def has_device_state(state: str) -> Any:
    return lambda events: any(
        e["event"] == "VFIO_MIGRATION" and e["data"].get("device-state") == state for e in events
    )


class Watch:
    """`vfio-tui watch --json` of both devices over SSH, as a user (or a CI job) runs it."""

    def __init__(self, repo: Path, state: Path, port: int, uuids: tuple[str, str], offset: float):
        self.args = [
            "watch",
            "--json",
            "--interval",
            f"{WATCH_INTERVAL:g}",
            "--give-up-after",
            f"{WATCH_GIVE_UP:g}",
            "--ssh-config",
            str(state / "ssh_config"),
            f"ssh://root@127.0.0.1:{port}#{uuids[0]}",
            f"ssh://root@127.0.0.1:{port}#{uuids[1]}",
        ]
        self.exe = str(repo / ".venv/bin/vfio-tui")
        self.offset = offset  # guest clock - host clock
        self.proc: asyncio.subprocess.Process | None = None
        self.t_start = 0.0
        self.reading: dict[str, Any] = {}

    async def start(self) -> None:
        self.t_start = time.time()
        self.proc = await asyncio.create_subprocess_exec(
            self.exe, *self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    async def readers_up(self, conn: asyncssh.SSHClientConnection) -> bool:
        """Until both of its remote readers (`sh -s`, one per device URL) run in the guest."""
        assert self.proc is not None
        count = (
            "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done"
            " | grep -c '^sh -s $' || true"
        )
        end = time.monotonic() + WATCH_READY_S
        while time.monotonic() < end and self.proc.returncode is None:
            if int((await guest(conn, count)).strip() or 0) >= 2:
                return True
            await asyncio.sleep(0.2)
        return False

    async def finish(self) -> dict[str, Any]:
        """Its result once it ends by itself (an end, or --give-up-after); killed past a bound."""
        assert self.proc is not None
        try:
            out, err = await asyncio.wait_for(self.proc.communicate(), WATCH_GIVE_UP + 60)
        except TimeoutError:
            self.proc.kill()
            out, err = await self.proc.communicate()
        end = time.time()
        reading: dict[str, Any] = {
            "command": ["vfio-tui", *self.args],
            "t_start": round(self.t_start + self.offset, 6),
            "t_end": round(end + self.offset, 6),
            "exit": self.proc.returncode,
        }
        try:
            reading["result"] = json.loads(out)
        except ValueError:
            reading["result"] = None
            reading["stdout"] = out.decode(errors="replace")[-2000:]
        if err:
            reading["stderr"] = err.decode(errors="replace")[-2000:]
        return reading


async def guest(conn: asyncssh.SSHClientConnection, command: str) -> str:
    result = await conn.run(command, check=True)
    return str(result.stdout)


async def clock_offset(conn: asyncssh.SSHClientConnection) -> float:
    """Guest real-time clock minus host clock, from the fastest of a few round trips."""
    best: tuple[float, float] | None = None
    for _ in range(5):
        t0 = time.time()
        out = await guest(conn, "/lab/lab_poll --now")
        t1 = time.time()
        rtt = t1 - t0
        if best is None or rtt < best[0]:
            best = (rtt, float(out) - (t0 + t1) / 2)
    assert best is not None
    return best[1]


def parse_poll(text: str) -> tuple[dict[str, list[dict[str, Any]]], int]:
    sides: dict[str, list[dict[str, Any]]] = {"source": [], "destination": []}
    reads = 0
    for line in text.splitlines():
        if line.startswith("# reads "):
            reads = int(line.split()[2])
            continue
        t, side, state = line.split(" ", 2)
        sides[side].append({"t": float(t), "state": state})
    return sides, reads


def split_sections(text: str) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current = "preamble"
    for line in text.splitlines():
        if line.startswith("@@"):
            current = line[2:]
            out[current] = []
        else:
            out.setdefault(current, []).append(line)
    return {k: "\n".join(v) for k, v in out.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    state = Path(args.state)
    repo = Path(__file__).resolve().parents[2]
    port = int((state / "port").read_text())
    name = args.run
    async with asyncssh.connect(
        "127.0.0.1",
        port=port,
        username="root",
        client_keys=[str(state / "id_ed25519")],
        known_hosts=str(state / "known_hosts"),
    ) as conn:
        offset = await clock_offset(conn)
        setup = await guest(conn, f"setsid sh /lab/guest.sh setup {name} < /dev/null")
        devices: dict[str, dict[str, str]] = {}
        for line in setup.splitlines():
            side, rest = line.split("=", 1)
            uuid, _, type_name = rest.partition(" ")
            devices[side] = {"uuid": uuid, "type": type_name}
        uuids = (devices["source"]["uuid"], devices["destination"]["uuid"])
        src = await Qmp.open(conn, "source", SRC_QMP)
        dst = await Qmp.open(conn, "destination", DST_QMP)
        for q in (src, dst):
            await q.cmd(
                "migrate-set-capabilities",
                capabilities=[{"capability": "events", "state": True}],
            )
        if name == "held-stop-copy":
            await src.cmd(
                "migrate-set-capabilities",
                capabilities=[{"capability": "pause-before-switchover", "state": True}],
            )
        if name in ("slow-precopy", "cancel", "destination-killed"):
            await src.cmd("migrate-set-parameters", **{"max-bandwidth": SLOW_BANDWIDTH})

        # The app watches from before the migration to its end, as a user would.
        watcher = Watch(repo, state, port, uuids, offset)
        await watcher.start()
        watch_ready = await watcher.readers_up(conn)
        await asyncio.sleep(WATCH_SETTLE_S)  # its first reading (checked in tests/lab)
        t_migrate = time.time() + offset
        await src.cmd("migrate", uri=f"tcp:127.0.0.1:{STREAM}")
        actions: list[dict[str, Any]] = [{"t": round(t_migrate, 6), "action": "migrate"}]

        if name == "held-stop-copy":
            if await src.wait_for(has_status("pre-switchover", *FINAL)):
                if "pre-switchover" in migration_status(src.events):
                    await asyncio.sleep(HOLD_S)
                    actions.append(
                        {"t": round(time.time() + offset, 6), "action": "migrate-continue"}
                    )
                    await src.cmd("migrate-continue", state="pre-switchover")
        elif name in ("cancel", "destination-killed"):
            # well inside pre-copy: the device is in PRE_COPY and RAM is moving
            await src.wait_for(has_device_state("pre-copy"))
            await asyncio.sleep(2.0)
            actions.append({"t": round(time.time() + offset, 6), "action": name})
            if name == "cancel":
                await src.cmd("migrate_cancel")
            else:
                await guest(conn, "sh /lab/guest.sh kill-dst")
        await src.wait_for(has_status(*FINAL))
        # let each side finish: the source's cleanup (STOP or back to RUNNING)
        # and the destination's start or exit
        await dst.wait_for(has_status(*FINAL), timeout=30)
        await src.wait_for(
            lambda ev: any(
                e["event"] == "VFIO_MIGRATION" and e["data"]["device-state"] in ("stop", "running")
                for e in ev[-3:]
            ),
            timeout=10,
        )
        await asyncio.sleep(1.0)
        final: dict[str, Any] = {}
        for q in (src, dst):
            try:
                final[q.side] = await q.cmd("query-migrate")
            except (QmpClosed, RuntimeError, TimeoutError) as exc:
                final[q.side] = {"unavailable": str(exc)}
        alive = await guest(conn, "sh /lab/guest.sh alive")
        watched = await watcher.finish()  # before the teardown: that is no part of the run
        watched["ready"] = watch_ready
        # from here on, what the QEMUs and the poller report is the lab's own
        # teardown (SIGTERM to both QEMUs), not the migration
        actions.append({"t": round(time.time() + offset, 6), "action": "teardown"})
        stopped = split_sections(await guest(conn, "sh /lab/guest.sh stop"))
        uname = (await guest(conn, "uname -r")).strip()
        poll, reads = parse_poll(stopped.get("poll", ""))

    exited = {
        {"src": "source", "dst": "destination"}[w[0]]: w[1] == "exited"
        for w in (line.split() for line in alive.splitlines())
    }
    qmp: dict[str, Any] = {}
    for q in (src, dst):
        qmp[q.side] = {
            "events": q.events,
            "query_migrate": final[q.side],
            "exited": exited[q.side],
            "qmp_closed_at": None if q.closed_at is None else round(q.closed_at + offset, 6),
        }
    logs = {
        "source": stopped.get("src.log", "").strip(),
        "destination": stopped.get("dst.log", "").strip(),
    }
    return {
        "schema": 2,  # 2: app.watch (vfio-tui watch --json) replaces app.snapshots
        "run": name,
        "clock": "guest CLOCK_REALTIME, seconds; app readings converted from the host clock",
        "guest": {"kernel": uname, "qemu": src.version},
        "parameters": {
            "max_bandwidth": SLOW_BANDWIDTH
            if name in ("slow-precopy", "cancel", "destination-killed")
            else None,
            "pause_before_switchover": name == "held-stop-copy",
            "hold_s": HOLD_S if name == "held-stop-copy" else None,
        },
        "devices": devices,
        "actions": actions,
        "qmp": qmp,
        "qemu_stderr": logs,
        "debugfs": {"poller_reads": reads, **poll},
        "app": {"watch": watched},
    }


def outcome(record: dict[str, Any]) -> dict[str, Any]:
    """How the run really ended, from the guest's truth: what the app's verdict
    (`vfio-tui watch --json`, recorded under app.watch) is checked against."""
    end = min(
        (a["t"] for a in record["actions"] if a["action"] == "teardown"), default=float("inf")
    )
    src = record["qmp"]["source"]
    statuses = [s for s in migration_status(src["events"]) if s in FINAL]

    def last_state(side: str) -> str | None:
        seen = [p["state"] for p in record["debugfs"][side] if p["t"] < end]
        return seen[-1] if seen else None

    dst_errors = [
        line.removeprefix("qemu-system-x86_64: ")
        for line in record["qemu_stderr"]["destination"].splitlines()
        if "load" in line and ("failed" in line or "error" in line)
    ]
    return {
        "migration": statuses[-1] if statuses else None,
        "source_error": src["query_migrate"].get("error-desc"),
        "destination_error": dst_errors,
        "destination_qemu_exited": record["qmp"]["destination"]["exited"],
        "source_device_ends": last_state("source"),
        "destination_device_ends": last_state("destination"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="harness/lab.d/driver.py")
    parser.add_argument("--state", required=True)
    parser.add_argument("--run", required=True, choices=RUNS)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    record = asyncio.run(run(args))
    record["outcome"] = outcome(record)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    src = record["qmp"]["source"]
    print(
        f"lab {args.run}: source {migration_status(src['events'])} -> {out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
