"""`vfio-tui watch`: every named fault on every device it applies to gets its verdict.

The migrations are simulated, but the verdict sees only what the hosts show: the
same matrix runs in process (sim://) and over SSH (the asyncssh servers behind
`vfio-sim serve`), and must give the same outcome, cause and place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.pace import Pace
from sim.pair import HISI_2023_DEVICE, HISI_MAINLINE_DEVICE, MTTY_DEVICE, SimPair, default_pair
from sim.scenarios import scenario
from sim.sshserver import SimSshServer, serve_pair
from tests.fixtures.session import make_session
from vfio_tui import cli
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.verdict import Cause, Facts, Outcome, Verdict, judge
from vfio_tui.services.watch import WatchResult, watch
from vfio_tui.transport.base import TransportOptions
from vfio_tui.transport.hosts import SimWorld

# Arcs short against the read timeout (a read waits for an arc in progress), phases long
# enough that a 10 ms poll sees every state QEMU asks for, even on a busy machine.
PACE = Pace(arc=0.05, phase=0.1)
# stuck_after well above any phase, even when a busy machine stretches the simulator's sleeps.
OPTIONS = {"interval": 0.01, "stuck_after": 2.0, "give_up_after": 60.0}
READ_TIMEOUT = 1.0

# (fault, device) -> (outcome, cause, where side, where transition or None: not checked)
HISI = {
    "clean": ("succeeded", None, "destination", None),
    "match-mismatch": ("failed", "match-mismatch", "destination", "RESUMING -> STOP"),
    "hung-save": ("stuck", "hung-save", "source", "STOP_COPY"),
    "mailbox-not-ready": ("failed", "mailbox-not-ready", "source", "PRE_COPY -> STOP_COPY"),
    "guest-driver-not-loaded": ("succeeded", "guest-driver-not-loaded", "source", None),
    "corrupt-transfer": ("failed", "corrupt-transfer", None, None),
    "device-unplug": ("failed", "device-unplug", "source", "STOP_COPY -> (gone)"),
    # debugfs cannot tell the kernel's PRE_COPY loop from a hung save (both block in
    # STOP_COPY with the mutex held); only a QMP fact of a restart names precopy-hang.
    "precopy-hang": ("stuck", "hung-save", "source", "STOP_COPY"),
}
MTTY = {
    "clean": ("succeeded", None, "destination", None),
    # mtty refuses the header in pre-copy; debugfs shows only the source coming back.
    "match-mismatch": ("failed", "source-resumed", "source", "PRE_COPY -> RUNNING"),
    "hung-save": ("stuck", "hung-save", "source", "STOP_COPY"),
    # mtty shows no migration data in debugfs: nothing to compare.
    "corrupt-transfer": ("succeeded", None, "destination", None),
    "device-unplug": ("failed", "device-unplug", "source", "STOP_COPY -> (gone)"),
    "precopy-hang": ("stuck", "hung-save", "source", "STOP_COPY"),
}
CASES = [
    pytest.param(device, fault, expected, id=f"{label}-{fault}")
    for device, label, table in (
        (HISI_MAINLINE_DEVICE, "mainline", HISI),
        (HISI_2023_DEVICE, "2023", HISI),
        (MTTY_DEVICE, "mtty", MTTY),
    )
    for fault, expected in table.items()
]


def test_every_fault_has_an_expected_verdict_on_every_device_it_applies_to() -> None:
    pair = default_pair(Pace.instant())
    for device, table in (
        (HISI_MAINLINE_DEVICE, HISI),
        (HISI_2023_DEVICE, HISI),
        (MTTY_DEVICE, MTTY),
    ):
        applies = {name for name in HISI if scenario(name).applies_to(pair.src.device(device))}
        assert applies == set(table), device


def check(verdict: Verdict, expected: tuple[str, str | None, str | None, str | None]) -> None:
    outcome, cause, side, transition = expected
    got = (verdict.outcome.value, verdict.cause.value if verdict.cause else None)
    assert got == (outcome, cause), verdict.lines()
    assert verdict.where.side == side, verdict.lines()
    if transition is not None:
        assert verdict.where.transition == transition, verdict.lines()
    assert verdict.summary and verdict.evidence


def sim_urls(device: str) -> list:  # type: ignore[type-arg]
    return [parse_host_url(f"sim://src#{device}"), parse_host_url(f"sim://dst#{device}")]


@pytest.mark.parametrize(("device", "fault", "expected"), CASES)
async def test_simulated_migration_gets_the_verdict_of_its_fault(
    device: str, fault: str, expected: tuple[str, str | None, str | None, str | None]
) -> None:
    result = await watch(
        sim_urls(device),
        TransportOptions(read_timeout=READ_TIMEOUT),
        scenario=fault,
        world=SimWorld(PACE),
        **OPTIONS,  # type: ignore[arg-type]
    )
    assert not result.timed_out
    check(result.verdict, expected)


@pytest.mark.parametrize("device", [HISI_MAINLINE_DEVICE, HISI_2023_DEVICE, MTTY_DEVICE])
async def test_clean_migration_phases_add_up_to_its_span(device: str) -> None:
    result = await watch(
        sim_urls(device),
        TransportOptions(read_timeout=READ_TIMEOUT),
        scenario="clean",
        world=SimWorld(PACE),
        **OPTIONS,  # type: ignore[arg-type]
    )
    phases = result.verdict.phases
    assert result.verdict.outcome is Outcome.SUCCEEDED
    parts = (phases.pre_copy, phases.stop_copy, phases.resume)
    assert None not in parts and phases.total is not None, result.verdict.lines()
    assert sum(p for p in parts if p is not None) == pytest.approx(phases.total)
    names = [b.name for b in phases.boundaries]
    assert names == ["start", "vm-stop", "source-stopped", "destination-running"]
    span = names and phases.boundaries[-1].at - phases.boundaries[0].at
    assert phases.total == pytest.approx(span)
    assert all(p > 0 for p in parts if p is not None)  # each phase took some time


# --- over SSH: the same matrix, the simulator behind `vfio-sim serve`'s servers -------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimPair, list[SimSshServer]]]:
    pair = default_pair(PACE)
    servers = await serve_pair([pair.src, pair.dst])
    yield pair, servers
    for server in servers:
        server.kill()
    await pair.stop()


def ssh_options(tmp_path: Path, servers: list[SimSshServer]) -> tuple[str, list[str]]:
    known = tmp_path / "known_hosts"
    known.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    urls = [f"ssh://tester@127.0.0.1:{s.port}" for s in servers]
    return str(known), urls


@pytest.mark.parametrize(("device", "fault", "expected"), CASES)
async def test_over_ssh_the_verdict_is_the_same(
    tmp_path: Path,
    served: tuple[SimPair, list[SimSshServer]],
    device: str,
    fault: str,
    expected: tuple[str, str | None, str | None, str | None],
) -> None:
    pair, servers = served
    known, urls = ssh_options(tmp_path, servers)

    async def start() -> None:
        pair.start_migration(device, scenario(fault))

    result: WatchResult = await watch(
        [parse_host_url(f"{u}#{device}") for u in urls],
        TransportOptions(known_hosts=known, read_timeout=READ_TIMEOUT),
        after_first_reading=start,
        **OPTIONS,  # type: ignore[arg-type]
    )
    assert not result.timed_out
    check(result.verdict, expected)


async def test_watch_json_over_ssh_from_the_command_line(
    tmp_path: Path,
    served: tuple[SimPair, list[SimSshServer]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command as a CI job runs it: JSON out, exit 1 for a refused migration."""
    pair, servers = served
    known, urls = ssh_options(tmp_path, servers)
    pair.start_migration(HISI_MAINLINE_DEVICE, scenario("match-mismatch"))
    argv = [
        "watch",
        f"{urls[0]}#{HISI_MAINLINE_DEVICE}",
        f"{urls[1]}#{HISI_MAINLINE_DEVICE}",
        "--json",
        "--known-hosts",
        known,
        "--interval",
        "0.02",
        "--give-up-after",
        "60",
    ]
    status = await asyncio.to_thread(cli.main, argv)
    out = json.loads(capsys.readouterr().out)
    assert status == 1
    assert set(out) == {"verdict", "source", "destination", "facts"}
    verdict = out["verdict"]
    # The facts it printed give the same verdict again (what the lab's records replay).
    assert judge(Facts.from_json(out["facts"])).to_json() == verdict
    assert out["facts"]["readings"][0]["path"] == "state"
    assert set(verdict) == {"outcome", "cause", "where", "summary", "evidence", "next", "phases"}
    assert (verdict["outcome"], verdict["cause"]) == ("failed", "match-mismatch")
    assert verdict["where"]["side"] == "destination"
    assert out["destination"]["state"] == "RESUMING"
    assert out["source"]["host"] == urls[0]
    # Nothing of the simulator: no scenario name, no narration.
    assert "scenario" not in json.dumps(verdict)
    assert "sim-" not in json.dumps(verdict)


# --- the command line on the simulator ------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


DEV = HISI_MAINLINE_DEVICE
FAST = ["--interval", "0.02", "--stuck-after", "2", "--timeout", "1"]


def test_watch_prints_a_succeeded_verdict_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        ["watch", f"sim://src#{DEV}", f"sim://dst#{DEV}", "--scenario", "clean", *FAST], capsys
    )
    assert status == 0
    assert "verdict: SUCCEEDED" in out
    assert "phases: pre-copy" in out


def test_watch_json_hung_save_is_stuck_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        [
            "watch",
            f"sim://src#{DEV}",
            f"sim://dst#{DEV}",
            "--scenario",
            "hung-save",
            "--json",
            *FAST,
        ],
        capsys,
    )
    verdict = json.loads(out)["verdict"]
    assert status == 1
    assert (verdict["outcome"], verdict["cause"]) == ("stuck", "hung-save")
    assert verdict["evidence"] and verdict["next"]
    # Replayed from the printed facts with the same --stuck-after: the same verdict; a
    # longer --stuck-after would not call it stuck yet, so the facts carry the time too.
    facts = Facts.from_json(json.loads(out)["facts"])
    assert judge(facts, stuck_after=2).to_json() == verdict
    assert judge(facts, stuck_after=1000).outcome is Outcome.IN_PROGRESS


def test_watch_gives_up_with_3_when_no_migration_starts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(
        ["watch", f"sim://src#{DEV}", f"sim://dst#{DEV}", "--give-up-after", "0.3", *FAST], capsys
    )
    assert status == 3
    assert "verdict: NOT-STARTED" in out
    assert "no end after 0.3 s" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim://src", f"sim://dst#{DEV}"], "pick one with #DEVICE"),
        ([f"sim://src#{DEV}", f"sim://dst#{DEV}", "--scenario", "nope"], "unknown scenario"),
        (
            [
                f"sim://src#{MTTY_DEVICE}",
                f"sim://dst#{MTTY_DEVICE}",
                "--scenario",
                "mailbox-not-ready",
            ],
            "does not apply to a mtty device",
        ),
        (["ssh://a", "ssh://b", "--scenario", "clean"], "simulated hosts"),
        ([f"sim://src#{DEV}", f"sim://dst#{DEV}", "--give-up-after", "-1"], "positive"),
    ],
)
def test_watch_bad_command_lines_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(["watch", *argv], capsys)
    assert status == 2
    assert message in err
    assert "Traceback" not in err


def test_snapshot_json_carries_the_verdict_one_reading_supports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run_cli(
        [
            "snapshot",
            f"sim://src#{DEV}",
            f"sim://dst#{DEV}",
            "--scenario",
            "corrupt-transfer",
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    assert status == 0
    assert (data["verdict"]["outcome"], data["verdict"]["cause"]) == ("failed", "corrupt-transfer")
    assert data["source"]["state"] == "STOP"


# --- the session: what the live view will show -----------------------------------------------


async def poll_until_ended(session: object, deadline: float = 30.0) -> Verdict:
    from vfio_tui.services.session import Session

    assert isinstance(session, Session)
    async with asyncio.timeout(deadline):
        while True:
            await asyncio.gather(session.poll("source"), session.poll("destination"))
            verdict = session.verdict(stuck_after=2.0)
            if verdict.ended:
                return verdict
            await asyncio.sleep(0.01)  # the poll interval, not a wait for the simulator


async def test_the_session_migrates_through_the_capability_and_gives_the_verdict(
    tmp_path: Path,
) -> None:
    session = make_session(
        tmp_path,
        f"sim://src#{HISI_MAINLINE_DEVICE}",
        f"sim://dst#{HISI_MAINLINE_DEVICE}",
        options=TransportOptions(read_timeout=READ_TIMEOUT),
        pace=PACE,
    )
    try:
        await session.attach("source")
        await session.attach("destination")
        assert "match-mismatch" in [f.name for f in session.faults()]
        await asyncio.gather(session.poll("source"), session.poll("destination"))
        assert session.verdict().outcome is Outcome.NOT_STARTED
        said = await session.migrate("match-mismatch", lambda note: None)
        assert said.startswith("migrating")
        verdict = await poll_until_ended(session)
        assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.MATCH_MISMATCH)
    finally:
        await session.close()


async def test_real_hosts_offer_no_simulator(tmp_path: Path, clean_tree: Path) -> None:
    src, dst = (f"local://{clean_tree / side}#{HISI_MAINLINE_DEVICE}" for side in ("src", "dst"))
    session = make_session(tmp_path, src, dst)
    try:
        assert session.simulator is None and session.faults() == []
        said = await session.migrate("clean", lambda note: None)
        assert "simulated hosts" in said
        await session.attach("source")
        await session.attach("destination")
        await asyncio.gather(session.poll("source"), session.poll("destination"))
        # The tree holds the end of a clean migration: one reading supports success.
        assert session.verdict().outcome is Outcome.SUCCEEDED
    finally:
        await session.close()
