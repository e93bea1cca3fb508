"""The simulator held against real migrations: the golden records of harness/lab (issue 12).

Each tests/golden/lab-*.json is what a real QEMU 10 did to a real mtty on Linux
6.12 in the lab (harness/LAB.md). `.ci/run` also runs the lab live and points
VFIO_TUI_LAB_RECORDS at the fresh records' directory; those are replayed too.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from sim.lab import KNOWN_DIFFERENCES, SCENARIO_OF, Json, load, polled, real_facts, replay

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
RUNS = tuple(SCENARIO_OF)


def records() -> list[Path]:
    found = sorted(GOLDEN_DIR.glob("lab-*.json"))
    fresh = os.environ.get("VFIO_TUI_LAB_RECORDS")
    if fresh:
        found += sorted(Path(fresh).glob("lab-*.json"))
    return found


def golden(run: str) -> Json:
    return load(GOLDEN_DIR / f"lab-{run}.json")


@pytest.fixture(params=records(), ids=lambda p: f"{p.parent.name}/{p.name}")
def record(request: pytest.FixtureRequest) -> Json:
    return load(request.param)


def test_every_named_run_has_a_golden_record() -> None:
    assert {p.name for p in GOLDEN_DIR.glob("lab-*.json")} == {f"lab-{r}.json" for r in RUNS}


async def test_simulator_migrates_like_the_real_qemu(record: Json) -> None:
    comparison = await replay(record)
    print(comparison.text())  # for the CI log
    assert comparison.unexplained == [], comparison.text()


async def test_every_known_difference_still_occurs() -> None:
    """A stale entry would hide a future regression."""
    for run, what in KNOWN_DIFFERENCES:
        comparison = await replay(golden(run))
        assert what in {d[0] for d in comparison.differences}, (run, what)


async def test_a_simulator_that_asks_for_other_states_is_caught() -> None:
    """The replay can fail: a record whose source skipped PRE_COPY_P2P differs."""
    changed = copy.deepcopy(golden("clean"))
    events = changed["qmp"]["source"]["events"]
    changed["qmp"]["source"]["events"] = [
        e for e in events if e["data"].get("device-state") != "pre-copy-p2p"
    ]
    comparison = await replay(changed)
    assert [d[0] for d in comparison.unexplained] == ["source"]


def test_a_clean_real_migration_is_what_the_trial_saw() -> None:
    facts = real_facts(golden("clean"))
    assert facts.source == ("PRE_COPY", "PRE_COPY_P2P", "STOP_COPY", "STOP")
    assert facts.destination == ("RESUMING", "RUNNING_P2P", "RUNNING")
    assert facts.transferred == 96  # a two-port mtty's device data
    assert facts.succeeded
    assert not facts.destination_exited


def test_the_poller_sees_only_states_qemu_asked_for(record: Json) -> None:
    """debugfs shows the states QEMU requests (or a fresh device's RUNNING), never others."""
    facts = real_facts(record)
    for side, asked in (("source", facts.source), ("destination", facts.destination)):
        seen = polled(record, side)
        assert seen, side
        assert seen[0] == "RUNNING", (side, seen)
        extra = set(seen) - set(asked) - {"RUNNING", "ENOENT"}
        assert not extra, (side, seen, asked)


def test_the_app_read_both_real_devices_over_ssh(record: Json) -> None:
    """`vfio-tui watch --json` read both devices over SSH before the migration started."""
    facts = record["app"]["watch"]["result"]["facts"]
    for side in ("source", "destination"):
        first = next(r for r in facts["readings"] if r["side"] == side and r["path"] == "state")
        assert first.get("text") == "RUNNING\n", first


async def test_port_mismatch_fails_where_the_real_destination_refused_the_data() -> None:
    """Real: the one-port destination refuses the pre-copy header (EFAULT, "Bad address")
    and exits; the source never stops its VM. The simulator fails at the same write."""
    record = golden("port-mismatch")
    assert "load of migration failed: Bad address" in record["outcome"]["destination_error"]
    comparison = await replay(record)
    assert comparison.sim.source == ("PRE_COPY", "RUNNING")
    assert comparison.differences == []


def test_each_record_says_how_the_run_really_ended(record: Json) -> None:
    """The truth the verdict (`vfio-tui watch --json`, app.watch) is checked against
    (tests/lab/test_verdict_on_real_runs.py)."""
    expected = {
        "clean": ("completed", "STOP", "RUNNING", False),
        "slow-precopy": ("completed", "STOP", "RUNNING", False),
        "held-stop-copy": ("completed", "STOP", "RUNNING", False),
        "port-mismatch": ("failed", "RUNNING", "RESUMING", True),
        "cancel": ("cancelled", "RUNNING", "RESUMING", True),
        "destination-killed": ("failed", "RUNNING", "RESUMING", True),
    }[record["run"]]
    out = record["outcome"]
    got = (
        out["migration"],
        out["source_device_ends"],
        out["destination_device_ends"],
        out["destination_qemu_exited"],
    )
    assert got == expected


def test_held_stop_copy_really_held_the_source_in_stop_copy() -> None:
    """The app saw STOP_COPY on the source while QEMU waited in pre-switchover."""
    record = golden("held-stop-copy")
    readings = record["app"]["watch"]["result"]["facts"]["readings"]
    seen = [r.get("text") for r in readings if r["side"] == "source" and r["path"] == "state"]
    assert "STOP_COPY\n" in seen
    assert record["qmp"]["source"]["query_migrate"]["downtime"] >= 1000 * 3  # ms: the hold
