"""`vfio-sim`: the simulator's command line.

vfio-sim run [--scenario NAME] [--device DEV]   watch a migration on the built-in pair
vfio-sim scenarios                              the named faults, one line each
vfio-sim fsm --flags stop-copy,p2p [--json]     the kernel's next-step table for a device
vfio-sim tree DIR [--scenario NAME]             both hosts' debugfs trees as plain files
vfio-sim serve [--port 2222]                    the simulated hosts behind two SSH servers
vfio-sim check TRANSCRIPT.json                  replay a real kernel's mtty walk (harness/run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import stat
import sys
from collections.abc import AsyncIterator, Sequence

from sim.migration import Migration, MigrationEvent, Outcome
from sim.pace import Pace
from sim.pair import DEFAULT_DEVICE, default_pair
from sim.scenarios import SCENARIOS, scenario
from sim.transcript import check as check_transcript
from sim.transcript import load as load_transcript
from sim.tree import write_trees
from vfio_tui.model.fsm import KernelFsm, next_step_table, path
from vfio_tui.model.states import MigrationFlags, MigrationState

# `vfio-sim run`: how the migration ended, as its exit status.
RUN_SUCCEEDED = 0  # both devices reached their end states and the data arrived intact
RUN_FAILED = 1  # a state change was refused; the source went back to RUNNING
RUN_USAGE = 2  # a bad command line (or a scenario that does not apply to the device)
RUN_CORRUPTED = 3  # the states say it succeeded, but the destination got other bytes
RUN_HUNG = 4  # no end within --timeout: a device is stuck
RUN_STATUSES = f"""exit status (how the migration ended):
  {RUN_SUCCEEDED}  succeeded: both devices reached their end states, the data arrived intact
  {RUN_FAILED}  failed: a state change was refused; the source went back to RUNNING
  {RUN_USAGE}  bad command line, or a scenario that does not apply to the device
  {RUN_CORRUPTED}  corrupted: the states say succeeded, but the destination got other bytes
  {RUN_HUNG}  hung: no end within --timeout"""

SHORT = {
    MigrationState.ERROR: "ERR",
    MigrationState.STOP: "STOP",
    MigrationState.RUNNING: "RUN",
    MigrationState.STOP_COPY: "S_CP",
    MigrationState.RESUMING: "RES",
    MigrationState.RUNNING_P2P: "R_P2P",
    MigrationState.PRE_COPY: "PRE",
    MigrationState.PRE_COPY_P2P: "P_P2P",
}


def _flags(text: str) -> MigrationFlags:
    try:
        flags = MigrationFlags.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if MigrationFlags.STOP_COPY not in flags:
        raise argparse.ArgumentTypeError("stop-copy is mandatory for a migratable device")
    return flags


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: a number of seconds more than 0")
    return seconds


def _scenario_name(text: str) -> str:
    try:
        return scenario(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_scenarios(_: argparse.Namespace) -> int:
    width = max(len(name) for name in SCENARIOS)
    for name, item in SCENARIOS.items():
        only = " (hisi_acc devices only)" if item.hisi_only else ""
        print(f"{name:<{width}}  {item.summary}{only}")
    return 0


def cmd_fsm(args: argparse.Namespace) -> int:
    flags: MigrationFlags = args.flags
    kernel = KernelFsm(args.kernel)
    table = next_step_table(flags, kernel)
    if args.json:
        out = {
            f"{cur.name}>{new.name}": nxt if isinstance(nxt, str) else nxt.name
            for (cur, new), nxt in table.items()
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"flags: {','.join(flags.words())}   kernel: {kernel.value}")
    print("Next step the kernel takes from CURRENT (rows) towards TARGET (columns).")
    print("  =  already there     -  refused with EINVAL     !  loops forever (unpatched)")
    print()
    header = "current \\ target".ljust(17) + "".join(f"{SHORT[s]:<6}" for s in MigrationState)
    print(header.rstrip())
    for cur in MigrationState:
        if (cur, cur) not in table:
            continue
        cells = []
        for new in MigrationState:
            nxt = table[(cur, new)]
            if nxt == "EINVAL":
                cells.append("-")
            elif nxt == "LOOPS":
                cells.append("!")
            elif cur is new:
                cells.append("=")
            else:
                assert isinstance(nxt, MigrationState)
                cells.append(SHORT[nxt])
        print((f"{cur.name:<17}" + "".join(f"{c:<6}" for c in cells)).rstrip())
    print()
    legend = [f"{short}={state.name}" for state, short in SHORT.items()]
    print("  " + "  ".join(legend[:4]))
    print("  " + "  ".join(legend[4:]))
    if args.paths:
        print()
        for (cur, new), nxt in table.items():
            if cur is new or isinstance(nxt, str):
                continue
            steps = [cur, *path(cur, new, flags, kernel)]
            print(f"{cur.name} -> {new.name}: {' -> '.join(s.name for s in steps)}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    summary = asyncio.run(write_trees(args.dir, scenario(args.scenario), args.device))
    print(summary.text())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Replay a real kernel's transcript (harness/run) on the simulator: 0 agrees, 1 not, 2 bad."""
    try:
        kernel = load_transcript(args.transcript)
    except ValueError as exc:
        print(f"vfio-sim check: {exc}", file=sys.stderr)
        return 2
    comparison = asyncio.run(check_transcript(kernel, features_file=not args.as_6_12))
    print(comparison.text())
    return 1 if comparison.unexplained else 0


def cmd_run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    pace = Pace.instant() if args.instant else Pace.demo()
    pair = default_pair(pace)
    chosen = scenario(args.scenario)
    source = pair.src.device(args.device)
    if not chosen.applies_to(source):
        print(f"vfio-sim: scenario {chosen.name} does not apply to {args.device}", file=sys.stderr)
        return RUN_USAGE
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    column = 44

    def on_state(host: str) -> object:
        def observe(device: object, state: MigrationState) -> None:
            pad = "" if host == "src" else " " * column
            print(f"{loop.time() - t0:7.2f}  {pad}{host}: {state.name}", flush=True)

        return observe

    for host in (pair.src, pair.dst):
        host.device(args.device).observers.append(on_state(host.name))  # type: ignore[arg-type]

    def narrate(event: MigrationEvent) -> None:
        print(f"{event.at:7.2f}  [{event.actor}] {event.text}", flush=True)

    print(f"Migrating {args.device} from sim-src to sim-dst (scenario {chosen.name})")
    print(f"{'t (s)':>7}  {'source':<{column}}destination")
    migration = pair.start_migration(args.device, chosen, narrate)
    task = pair.running[args.device]
    try:
        async with asyncio.timeout(args.timeout):
            await asyncio.shield(task)
    except TimeoutError:
        print(
            f"{loop.time() - t0:7.2f}  [simulator] no end after {args.timeout:g} s: the "
            "migration is hung"
        )
    await pair.stop()
    status, verdict = run_verdict(migration, args.timeout)
    print(f"outcome: {verdict}")
    return status


def run_verdict(migration: Migration, timeout: float) -> tuple[int, str]:
    """The exit status and the `outcome:` line for a migration that ended (or did not)."""
    if migration.outcome is Outcome.FAILED:
        return RUN_FAILED, f"failed: {migration.reason}"
    if migration.outcome is not Outcome.SUCCEEDED:
        return RUN_HUNG, f"hung: no end within {timeout:g} s"
    if migration.sent != migration.delivered:
        sent, got = bytes(migration.sent), bytes(migration.delivered)
        differ = [i for i in range(min(len(sent), len(got))) if sent[i] != got[i]]
        differ += list(range(min(len(sent), len(got)), max(len(sent), len(got))))
        return RUN_CORRUPTED, (
            f"corrupted: the states say succeeded, but the data differs: {len(differ)} of "
            f"{len(sent)} bytes changed on the way (first at offset {differ[0]:#x})"
        )
    return RUN_SUCCEEDED, f"succeeded: {len(migration.sent)} bytes of device state arrived intact"


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except OSError as exc:
        print(f"vfio-sim serve: {exc.strerror or exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    from sim.sshserver import load_or_make_key, serve_pair, write_known_hosts

    pair = default_pair(Pace.demo())
    hosts = [pair.src, pair.dst]
    keys = [load_or_make_key(args.host_key_dir, host.name) for host in hosts]
    servers = await serve_pair(hosts, args.port, args.address, keys=keys)
    if args.known_hosts:
        write_known_hosts(args.known_hosts, [s.known_hosts_line(args.address) for s in servers])
    urls = [f"ssh://{args.address}:{s.port}#{args.device}" for s in servers]
    print("Simulated hosts listening (any user, no password):")
    for server, url in zip(servers, urls, strict=True):
        fingerprint = server.host_key.get_fingerprint("sha256")  # type: ignore[union-attr]
        print(f"  {server.host.hostname}  {url.split('#')[0]}  host key {fingerprint}")
    if args.known_hosts:
        trust = f"--known-hosts {args.known_hosts} "
    else:
        trust = "".join(
            f"--accept-host-key {s.host_key.get_fingerprint('sha256')} "  # type: ignore[union-attr]
            for s in servers
        )
    print("Connect with:")
    print(f"  vfio-tui snapshot {trust}{urls[0]} {urls[1]}")
    print(f"  vfio-tui {trust}{urls[0]} {urls[1]}")
    print(
        f"Type m + Enter to migrate {args.device}, `f NAME` to pick a fault, q to quit.", flush=True
    )
    chosen = scenario(args.scenario)

    def narrate(event: MigrationEvent) -> None:
        print(f"{event.at:7.2f}  [{event.actor}] {event.text}", flush=True)

    def migrate() -> None:
        try:
            pair.start_migration(args.device, chosen, narrate)
        except (RuntimeError, ValueError) as exc:
            print(f"vfio-sim: {exc}", flush=True)

    if args.migrate_after is not None:
        asyncio.get_running_loop().call_later(args.migrate_after, migrate)
    try:
        async for line in _stdin_lines():
            word, _, rest = line.strip().partition(" ")
            if word == "q":
                break
            if word == "m":
                migrate()
            elif word == "f":
                try:
                    chosen = scenario(rest.strip())
                    print(f"next migration: {chosen.name}: {chosen.summary}", flush=True)
                except ValueError as exc:
                    print(f"vfio-sim: {exc}", flush=True)
            elif word:
                print("m: migrate   f NAME: pick a fault   q: quit", flush=True)
        else:
            await asyncio.Event().wait()  # no stdin: serve until interrupted
    finally:
        for server in servers:
            server.kill()
        await pair.stop()
    return 0


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines typed on stdin; ends at EOF (or at once when stdin is not readable)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return  # /dev/null or a file: no one to type commands
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (OSError, ValueError):
        return
    while line := await reader.readline():
        yield line.decode(errors="replace")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vfio-sim",
        description="A simulated pair of hosts whose VFIO devices behave like the kernel's.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="watch a migration between the simulated hosts",
        description="Migrate a device from sim-src to sim-dst the way QEMU drives it, and "
        "print every state change on both hosts with QEMU's steps narrated.",
        epilog=RUN_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--scenario",
        type=_scenario_name,
        default="clean",
        metavar="NAME",
        help="the fault the migration suffers (default clean; `vfio-sim scenarios` lists them)",
    )
    run.add_argument(
        "--device",
        default=DEFAULT_DEVICE,
        metavar="DEV",
        help=f"the device that migrates (default {DEFAULT_DEVICE})",
    )
    run.add_argument("--instant", action="store_true", help="no pauses (for scripts)")
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="call the migration hung when it has not ended after this long (default 30)",
    )
    run.set_defaults(func=cmd_run)

    scen = sub.add_parser("scenarios", help="list the named faults")
    scen.set_defaults(func=cmd_scenarios)

    fsm = sub.add_parser("fsm", help="the kernel's next-step table for a device's flags")
    fsm.add_argument(
        "--flags",
        type=_flags,
        default=_flags("stop-copy,p2p,pre-copy"),
        help="comma-separated: stop-copy, p2p, pre-copy",
    )
    fsm.add_argument("--json", action="store_true", help='{"CUR>TARGET": "NEXT" or "EINVAL"}')
    fsm.add_argument(
        "--kernel",
        choices=[k.value for k in KernelFsm],
        default="fixed",
        help="unpatched: STOP_COPY -> PRE_COPY* loops (kernels before June 2026)",
    )
    fsm.add_argument("--paths", action="store_true", help="also print every full path")
    fsm.set_defaults(func=cmd_fsm)

    tree = sub.add_parser("tree", help="write both hosts' debugfs trees after a migration")
    tree.add_argument("dir", help="an empty or new directory; src/ and dst/ are written in it")
    tree.add_argument(
        "--scenario",
        type=_scenario_name,
        default="clean",
        metavar="NAME",
        help="the fault of the migration run first (default clean)",
    )
    tree.add_argument("--device", default=DEFAULT_DEVICE, help="the device that migrates")
    tree.set_defaults(func=cmd_tree)

    serve = sub.add_parser("serve", help="put the simulated hosts behind two SSH servers")
    serve.add_argument(
        "--port",
        type=int,
        default=2222,
        help="source on PORT, destination on PORT+1 (0: any free ports)",
    )
    serve.add_argument(
        "--address", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--known-hosts", metavar="FILE", help="write both host keys here for the client"
    )
    serve.add_argument(
        "--host-key-dir", metavar="DIR", help="keep the host keys here so they survive restarts"
    )
    serve.add_argument(
        "--scenario",
        type=_scenario_name,
        default="clean",
        metavar="NAME",
        help="the fault of the first migration (default clean; `f NAME` changes it)",
    )
    serve.add_argument(
        "--device",
        default=DEFAULT_DEVICE,
        metavar="DEV",
        help=f"the device `m` migrates (default {DEFAULT_DEVICE})",
    )
    serve.add_argument(
        "--migrate-after",
        type=float,
        metavar="SECONDS",
        help="start a migration this long after starting",
    )
    serve.set_defaults(func=cmd_serve)

    chk = sub.add_parser(
        "check", help="replay a real kernel's mtty transcript (harness/run) on the simulator"
    )
    chk.add_argument("transcript", help="JSON written by harness/run")
    chk.add_argument(
        "--as-6.12",
        dest="as_6_12",
        action="store_true",
        help="simulate a 6.12 debugfs (no features file) instead of the current one",
    )
    chk.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
