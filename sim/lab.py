"""The simulator's QEMU-like migration held against the real migrations of harness/lab.

A lab record (tests/golden/lab-*.json, schema in harness/LAB.md) holds what a
real QEMU 10 did to a real mtty on Linux 6.12: each QEMU's VFIO_MIGRATION
events (the state changes it made, in order), its final query-migrate, and
whether it exited. `replay()` runs the same named migration on two simulated
mtty devices and compares, side by side: the states asked for, in order; the
device data moved; how it ended (the source's migration status family, which
QEMU exited, the state the source device is left in). A difference that is
not in KNOWN_DIFFERENCES is unexplained.

    python -m sim.lab RECORD.json...   prints each comparison; exit 1 on an
                                       unexplained difference
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.migration import Migration, MigrationEvent, Outcome
from sim.mtty import MttyDevice
from sim.pace import Pace
from sim.scenarios import SCENARIOS
from vfio_tui.model.states import MigrationState

Json = dict[str, Any]
S = MigrationState

# QEMU's VFIO_MIGRATION device-state names (qapi/vfio.json) -> uAPI states
QAPI_STATES = {
    "stop": S.STOP,
    "running": S.RUNNING,
    "stop-copy": S.STOP_COPY,
    "resuming": S.RESUMING,
    "running-p2p": S.RUNNING_P2P,
    "pre-copy": S.PRE_COPY,
    "pre-copy-p2p": S.PRE_COPY_P2P,
}
# the lab's named runs -> the simulator's scenario, and what interrupts it
SCENARIO_OF = {
    "clean": "clean",
    "slow-precopy": "clean",
    "held-stop-copy": "clean",
    "port-mismatch": "match-mismatch",
    "cancel": "clean",
    "destination-killed": "clean",
}
# (run, what) -> why the simulator may differ there. Keep it short: each entry
# is a difference a test proves still occurs.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Facts:
    """What one migration did, reduced to what the simulator must reproduce."""

    source: tuple[str, ...]  # state changes QEMU made on the source device, in order
    destination: tuple[str, ...]
    # device data bytes moved: query-migrate's vfio.transferred, which QEMU
    # reports only for a completed migration (None when it does not say)
    transferred: int | None
    succeeded: bool
    source_exited: bool
    destination_exited: bool
    source_ends: str  # the source device's state at the end

    def as_dict(self) -> dict[str, object]:
        return {
            "source": list(self.source),
            "destination": list(self.destination),
            "transferred": self.transferred,
            "succeeded": self.succeeded,
            "source_exited": self.source_exited,
            "destination_exited": self.destination_exited,
            "source_ends": self.source_ends,
        }


@dataclass
class Comparison:
    run: str
    real: Facts
    sim: Facts
    differences: list[tuple[str, object, object]] = field(default_factory=list)

    @property
    def unexplained(self) -> list[tuple[str, object, object]]:
        return [d for d in self.differences if (self.run, d[0]) not in KNOWN_DIFFERENCES]

    def text(self) -> str:
        lines = [f"lab run {self.run}:"]
        for key, value in self.real.as_dict().items():
            lines.append(f"  {key:<19} real {value}")
        for what, real, sim in self.differences:
            known = KNOWN_DIFFERENCES.get((self.run, what))
            tag = f"KNOWN ({known})" if known else "UNEXPLAINED"
            lines.append(f"  DIFFERENT {what}: real {real}, simulator {sim} [{tag}]")
        if not self.differences:
            lines.append("  the simulator did the same")
        return "\n".join(lines)


def load(path: Path) -> Json:
    record: Json = json.loads(path.read_text())
    if record.get("schema") != 2 or record.get("run") not in SCENARIO_OF:
        raise ValueError(f"{path}: not a lab record (schema 2, a known run)")
    return record


def teardown(record: Json) -> float:
    """When the lab began tearing the run down (SIGTERM to both QEMUs): what
    follows is the lab's doing, not the migration's."""
    times = [a["t"] for a in record["actions"] if a["action"] == "teardown"]
    return float(times[0]) if times else float("inf")


def _requests(side: Json, end: float) -> tuple[str, ...]:
    return tuple(
        QAPI_STATES[e["data"]["device-state"]].name
        for e in side["events"]
        if e["event"] == "VFIO_MIGRATION" and e["t"] < end
    )


def polled(record: Json, side: str) -> list[str]:
    """The debugfs states the in-guest poller saw on `side` during the migration:
    the state at `migrate`, then each change until the teardown. (Before it, a
    starting QEMU also walks its device RUNNING -> RUNNING_P2P -> RUNNING as the
    VM starts; that is not the migration's.)"""
    starts = [a["t"] for a in record["actions"] if a["action"] == "migrate"]
    start = float(starts[0]) if starts else float("-inf")
    end = teardown(record)
    seen = [p for p in record["debugfs"][side] if p["t"] < end]
    before = [p["state"] for p in seen if p["t"] < start]
    return before[-1:] + [p["state"] for p in seen if p["t"] >= start]


def real_facts(record: Json) -> Facts:
    qmp = record["qmp"]
    src, dst = qmp["source"], qmp["destination"]
    query = src["query_migrate"]
    end = teardown(record)
    source = _requests(src, end)
    seen = polled(record, "source")
    ends = seen[-1] if seen else (source[-1] if source else "RUNNING")
    return Facts(
        source=source,
        destination=_requests(dst, end),
        transferred=query["vfio"]["transferred"] if "vfio" in query else None,
        succeeded=query.get("status") == "completed",
        source_exited=bool(src["exited"]),
        destination_exited=bool(dst["exited"]),
        source_ends=ends,
    )


async def simulate(record: Json) -> Facts:
    """The same named migration, on the simulator, at full speed."""
    run = record["run"]
    devices = record["devices"]
    ports = {side: 1 if "Single" in devices[side]["type"] else 2 for side in devices}
    pace = Pace.instant()
    src = MttyDevice(devices["source"]["uuid"], nr_ports=ports["source"], pace=pace)
    dst = MttyDevice(devices["destination"]["uuid"], nr_ports=ports["destination"], pace=pace)
    scenario = SCENARIOS[SCENARIO_OF[run]]
    if scenario.name == "match-mismatch":
        scenario = SCENARIOS["clean"]  # the devices above already differ, as in the lab
    migration: Migration

    def interrupt(event: MigrationEvent) -> None:
        if event.actor == "source" and event.text.endswith("-> PRE_COPY"):
            if run == "cancel":
                migration.cancel()
            elif run == "destination-killed":
                migration.kill_destination()

    narrate: Callable[[MigrationEvent], None] | None = (
        interrupt if run in ("cancel", "destination-killed") else None
    )
    migration = Migration(src, dst, scenario=scenario, pace=pace, narrate=narrate)
    outcome = await migration.run()
    return Facts(
        source=tuple(s.name for s in migration.requests["source"]),
        destination=tuple(s.name for s in migration.requests["destination"]),
        transferred=migration.transferred,
        succeeded=outcome is Outcome.SUCCEEDED,
        source_exited=migration.source_exited,
        destination_exited=migration.destination_exited,
        source_ends=src.state.name,
    )


async def replay(record: Json) -> Comparison:
    real = real_facts(record)
    sim = await simulate(record)
    comparison = Comparison(record["run"], real, sim)
    for key, value in real.as_dict().items():
        other = sim.as_dict()[key]
        if key == "transferred" and value is None:
            continue  # QEMU did not say (a failed or cancelled migration)
        if value != other:
            comparison.differences.append((key, value, other))
    return comparison


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m sim.lab RECORD.json...", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        try:
            comparison = asyncio.run(replay(load(path)))
        except (OSError, ValueError, KeyError) as exc:
            print(f"{path}: cannot replay: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(comparison.text())
        bad += bool(comparison.unexplained)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
