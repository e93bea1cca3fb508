"""`vfio-tui`: the live view, and the headless commands.

  vfio-tui [SRC DST]                   the live side-by-side view (the simulator by default)
  vfio-tui snapshot SRC DST [--json]   read both devices once and print them
  vfio-tui watch SRC DST [--json]      poll until the migration ends, then say what happened
  vfio-tui diff A B [--list]           compare two captures, like cmp

Hosts are URLs: sim://src, sim://dst, local:///sys/kernel/debug,
ssh://[user@]host[:port][/debugfs-root], with #DEVICE to pick a device.
This module never imports the Textual UI unless it starts it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence

# Imports are made where they are needed, so that `--help` and each command load only what
# they use (typing alone costs 6 ms; a test checks asyncio and Textual stay out of --help).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from vfio_tui.model.hosturl import HostUrl
    from vfio_tui.model.verdict import Verdict
    from vfio_tui.transport.base import TransportOptions
    from vfio_tui.ui.app import VfioTuiApp

EXIT_OK, EXIT_UNREAD, EXIT_USAGE, EXIT_GAVE_UP = 0, 1, 2, 3
TIMEOUT_MAX = 600.0  # seconds; a read that blocks longer than this is not coming back
# Defaults shown in --help without importing their modules (asyncio comes with the
# transport, tomllib with the config); tests/test_cli_startup.py holds them equal.
SHOWN_READ_TIMEOUT = 2.0  # transport.base.DEFAULT_READ_TIMEOUT
SHOWN_POLL_INTERVAL = 0.5  # config.DEFAULT_POLL_INTERVAL
SHOWN_POLL_INTERVAL_RANGE = "from 0.1 to 5"  # config.POLL_INTERVAL_RANGE
SHOWN_WATCH_INTERVAL = 0.2  # services.watch.DEFAULT_INTERVAL
SHOWN_GIVE_UP_AFTER = 600.0  # services.watch.DEFAULT_GIVE_UP_AFTER

COMMANDS = """commands:
  vfio-tui [HOST ...]             the live view (this command)
  vfio-tui snapshot SRC DST       read both devices once and print them (--json for scripts)
  vfio-tui watch SRC DST          poll until the migration ends, then give the verdict
  vfio-tui diff A B               compare two captures, like cmp

`vfio-tui COMMAND --help` describes each."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return f"vfio-tui {installed('vfio-tui')}"
    except PackageNotFoundError:
        return "vfio-tui (not installed)"


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for (importlib.metadata costs 15 ms at start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version())
        parser.exit()


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_VersionAction)


def _path(text: str) -> str:
    """A path from the command line, with ~ and ~user expanded (a shell may not have)."""
    from vfio_tui.config import expand_path

    try:
        return str(expand_path(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds_within(text: str, fits: Callable[[float], bool], wanted: str) -> float:
    """A number of seconds from the command line, refused unless finite and `fits`."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and fits(seconds)):
        raise argparse.ArgumentTypeError(f"{text!r}: {wanted}")
    return seconds


def _timeout(text: str) -> float:
    return _seconds_within(
        text,
        lambda s: 0 < s <= TIMEOUT_MAX,
        f"a number of seconds more than 0 and at most {TIMEOUT_MAX:g}",
    )


def _interval(text: str) -> float:
    from vfio_tui.config import POLL_INTERVAL_RANGE, valid_poll_interval

    return _seconds_within(text, valid_poll_interval, f"a number of seconds {POLL_INTERVAL_RANGE}")


def _seconds(text: str) -> float:
    return _seconds_within(text, lambda s: s > 0, "give a positive number of seconds")


def _url(text: str) -> HostUrl:
    from vfio_tui.model.hosturl import UrlError, parse_host_url

    try:
        return parse_host_url(text)
    except UrlError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _scenario(text: str) -> str:
    """A fault the simulator knows (its list comes through the simulated transport)."""
    from vfio_tui.transport.hosts import simulated_faults

    known = [fault.name for fault in simulated_faults()]
    if text not in known:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {text!r}; choose one of: {', '.join(known)}"
        )
    return text


def _check_scenario(
    parser: argparse.ArgumentParser, chosen: str | None, urls: Sequence[HostUrl]
) -> None:
    from vfio_tui.model.hosturl import Scheme

    if chosen is not None and not all(u.scheme is Scheme.SIM for u in urls):
        parser.error("--scenario applies to the simulated hosts (sim://src, sim://dst) only")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting")
    group.add_argument(
        "--sudo",
        action="store_true",
        help="read debugfs through `sudo -n` (for a non-root SSH user)",
    )
    group.add_argument(
        "--known-hosts",
        metavar="FILE",
        type=_path,
        help="known_hosts file to verify host keys (default ~/.ssh/known_hosts)",
    )
    group.add_argument(
        "--accept-host-key",
        metavar="SHA256:...",
        action="append",
        default=[],
        help="accept this host key fingerprint for this run (it is printed "
        "when a key is unknown or changed)",
    )
    group.add_argument(
        "--ssh-config",
        metavar="FILE",
        type=_path,
        action="append",
        default=[],
        help="OpenSSH client config to use instead of ~/.ssh/config",
    )
    group.add_argument(
        "--timeout",
        type=_timeout,
        metavar="SECONDS",
        help=f"how long one file read may block, more than 0 and at most {TIMEOUT_MAX:g} "
        f"(default {SHOWN_READ_TIMEOUT:g})",
    )
    group.add_argument(
        "--scenario",
        type=_scenario,
        metavar="NAME",
        help="simulated hosts only: the fault for the simulated migration "
        "(`vfio-sim scenarios` lists them)",
    )


def transport_options(args: argparse.Namespace) -> TransportOptions:
    from vfio_tui.transport.base import DEFAULT_READ_TIMEOUT, TransportOptions

    return TransportOptions(
        sudo=args.sudo,
        read_timeout=DEFAULT_READ_TIMEOUT if args.timeout is None else args.timeout,
        known_hosts=args.known_hosts,
        accepted_host_keys=set(args.accept_host_key),
        ssh_config=list(args.ssh_config),
    )


# --- snapshot -------------------------------------------------------------------------


def cmd_snapshot(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="vfio-tui snapshot",
        description="Read both devices once and print them side by side (or as JSON). "
        "Exit status 0 when both were read, 1 when a side could not be read or its state "
        "was not a state (the reason on stderr), 2 for a bad command line.",
    )
    add_version(parser)
    parser.add_argument("src", type=_url, help="source host URL, e.g. ssh://root@src#0000:3b:00.2")
    parser.add_argument("dst", type=_url, help="destination host URL")
    parser.add_argument(
        "--json", action="store_true", help='one object {"source": ..., "destination": ...}'
    )
    add_connection_options(parser)
    args = parser.parse_args(argv)
    _check_scenario(parser, args.scenario, (args.src, args.dst))
    import asyncio
    import json
    import shutil

    from vfio_tui.model.untrusted import printable
    from vfio_tui.services.snapshot import take_snapshots

    urls = [args.src, args.dst]
    sides = asyncio.run(take_snapshots(urls, transport_options(args), args.scenario))
    from vfio_tui.services.snapshot import verdict_of

    verdict = verdict_of(sides)
    if args.json:
        out = {
            "verdict": verdict.to_json(),
            "source": sides[0].to_json(),
            "destination": sides[1].to_json(),
        }
        print(json.dumps(out, indent=2))
    else:
        from vfio_tui.services.sidebyside import Side, render_side_by_side

        width = shutil.get_terminal_size((80, 24)).columns
        columns = []
        for name, side in zip(("SOURCE", "DESTINATION"), sides, strict=True):
            title = f"{name} {side.url.without_device}"
            columns.append(Side(title, side.snapshot, side.error.message if side.error else None))
        sys.stdout.write(render_side_by_side(columns[0], columns[1], width))
        _print_verdict(verdict)
    status = EXIT_OK
    for name, side in zip(("source", "destination"), sides, strict=True):
        reason = side.unread
        if reason is not None:
            print(
                f"vfio-tui snapshot: {name} {side.url}: {printable(reason, limit=2000)}",
                file=sys.stderr,
            )
            status = EXIT_UNREAD
    return status


# --- watch ----------------------------------------------------------------------------


def _print_verdict(verdict: Verdict) -> None:
    """The verdict for a person, wrapped to the terminal, host text escaped."""
    import shutil
    import textwrap

    from vfio_tui.model.untrusted import printable

    width = max(40, shutil.get_terminal_size((80, 24)).columns)
    for line in verdict.lines():
        text = printable(line)
        indent = " " * (len(text) - len(text.lstrip(" -")))
        print(textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False))


def cmd_watch(argv: Sequence[str]) -> int:
    """Poll until the migration ends: 0 succeeded, 1 failed or stuck, 3 gave up, 2 usage."""
    from vfio_tui.model.verdict import DEFAULT_STUCK_AFTER, Outcome

    parser = argparse.ArgumentParser(
        prog="vfio-tui watch",
        description="Poll both devices until the migration has ended (succeeded, failed, or "
        "stuck) or --give-up-after passes, then print the verdict: what happened, where, the "
        "likely cause, the evidence and what to check next. Exit status 0 succeeded (warnings "
        "allowed), 1 failed or stuck, 3 gave up before an end, 2 bad command line.",
    )
    parser.add_argument("src", type=_url, help="source host URL, e.g. ssh://root@src#0000:3b:00.2")
    parser.add_argument("dst", type=_url, help="destination host URL")
    parser.add_argument(
        "--json",
        action="store_true",
        help='one object {"verdict": ..., "source": ..., "destination": ..., "facts": ...}: '
        "the sides as in snapshot --json, and the readings the verdict was judged from",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        default=SHOWN_WATCH_INTERVAL,
        metavar="SECONDS",
        help=f"time between polls (default {SHOWN_WATCH_INTERVAL:g})",
    )
    parser.add_argument(
        "--stuck-after",
        type=_seconds,
        default=DEFAULT_STUCK_AFTER,
        metavar="SECONDS",
        help="a migration with no state change (or a state read that blocks) for this long "
        f"is stuck (default {DEFAULT_STUCK_AFTER:g})",
    )
    parser.add_argument(
        "--give-up-after",
        type=_seconds,
        default=SHOWN_GIVE_UP_AFTER,
        metavar="SECONDS",
        help="stop watching after this long without an end, exit 3 (default "
        f"{SHOWN_GIVE_UP_AFTER:g}); --timeout is how long one file read may block",
    )
    add_connection_options(parser)
    add_version(parser)
    args = parser.parse_args(argv)
    _check_scenario(parser, args.scenario, (args.src, args.dst))
    import asyncio  # after parsing, so that --help stays quick
    import json

    from vfio_tui.services.watch import WatchUsageError, watch

    try:
        result = asyncio.run(
            watch(
                [args.src, args.dst],
                transport_options(args),
                interval=args.interval,
                stuck_after=args.stuck_after,
                give_up_after=args.give_up_after,
                scenario=args.scenario,
            )
        )
    except WatchUsageError as exc:
        parser.error(str(exc))
    verdict = result.verdict
    if args.json:
        out = {
            "verdict": verdict.to_json(),
            "source": result.sides[0].to_json(),
            "destination": result.sides[1].to_json(),
            "facts": result.facts.to_json(),  # the verdict again: judge(Facts.from_json(...))
        }
        print(json.dumps(out, indent=2))
    else:
        from vfio_tui.model.untrusted import printable

        for name, side in zip(("source", "destination"), result.sides, strict=True):
            state = side.snapshot.state_name if side.snapshot is not None else None
            device = side.snapshot.device if side.snapshot is not None else side.url.device
            seen = state or (side.unread or "unread")
            print(printable(f"{name}: {side.url.without_device}#{device or '?'}: {seen}"))
        _print_verdict(verdict)
    if result.timed_out:
        print(
            f"vfio-tui watch: no end after {args.give_up_after:g} s ({verdict.outcome.value})",
            file=sys.stderr,
        )
        return EXIT_GAVE_UP
    return EXIT_OK if verdict.outcome is Outcome.SUCCEEDED else EXIT_UNREAD


def cmd_app(argv: Sequence[str]) -> int:
    app, mouse = build_app(argv)
    app.run(mouse=mouse)
    return app.return_code or 0


def build_app(argv: Sequence[str]) -> tuple[VfioTuiApp, bool]:
    """The live view as the command line and the config file ask for it (and mouse or not)."""
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="vfio-tui",
        description="Watch a VFIO live migration from both hosts, side by side. With no hosts "
        "it opens the built-in simulated pair.",
        epilog=COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version(parser)
    parser.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="SRC DST as host URLs, or the name of a pair from the config file",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="refuse every action that touches a device (for the one watching)",
    )
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument("--theme", help="e.g. ansi-dark for the terminal's own colours")
    parser.add_argument(
        "--interval",
        type=_interval,
        metavar="SECONDS",
        help=f"poll interval in seconds, {SHOWN_POLL_INTERVAL_RANGE} "
        f"(default {SHOWN_POLL_INTERVAL:g})",
    )
    parser.add_argument("--config", metavar="FILE", type=_path, help="configuration file to use")
    parser.add_argument(
        "--capture-dir", metavar="DIR", type=_path, help="where captures are written"
    )
    add_connection_options(parser)
    args = parser.parse_args(argv)
    from vfio_tui.config import ConfigError, check_keymap, load_config
    from vfio_tui.model.hosturl import UrlError, parse_host_url
    from vfio_tui.model.untrusted import printable

    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        parser.error(printable(str(exc)))
    sudo_default = config.sudo
    if not args.hosts:
        from vfio_tui.transport.hosts import default_sim_device

        device = default_sim_device()
        urls = [parse_host_url(f"sim://src#{device}"), parse_host_url(f"sim://dst#{device}")]
    elif len(args.hosts) == 1:
        pair = config.pairs.get(args.hosts[0])
        if pair is None:
            known = printable(", ".join(config.pairs)) or "none in the config file"
            parser.error(
                f"{args.hosts[0]!r} is not a pair from the config file ({known}); "
                "or give two host URLs"
            )
        urls = [pair.source, pair.destination]
        if pair.sudo is not None:
            sudo_default = pair.sudo
    elif len(args.hosts) == 2:
        try:
            urls = [parse_host_url(h) for h in args.hosts]
        except UrlError as exc:
            parser.error(printable(str(exc)))
    else:
        parser.error("give two hosts (SRC DST), one pair name, or none for the simulator")
    _check_scenario(parser, args.scenario, urls)
    options = transport_options(args)
    options.sudo = args.sudo or sudo_default
    if options.known_hosts is None:
        options.known_hosts = config.known_hosts
    interval = args.interval if args.interval is not None else config.poll_interval
    capture_dir = Path(args.capture_dir) if args.capture_dir else None
    if capture_dir is None and config.capture_dir is not None:
        capture_dir = config.capture_dir / time.strftime("%Y%m%d-%H%M%S")

    from vfio_tui.ui.app import VfioTuiApp  # Textual loads only for the live view

    try:
        check_keymap(config, app_bindings(VfioTuiApp), reserved=RESERVED_KEYS)
    except ConfigError as exc:
        parser.error(printable(str(exc)))
    app = VfioTuiApp(
        urls[0],
        urls[1],
        options=options,
        capture_dir=capture_dir,
        read_only=args.read_only or config.read_only,
        interval=interval,
        scenario=args.scenario,
        keymap=config.keymap,
    )
    theme = args.theme or config.theme
    if theme:
        if theme not in app.available_themes:
            where = "--theme" if args.theme else config.where("theme")
            known = ", ".join(sorted(app.available_themes))
            parser.error(
                f"{printable(where)}: no theme called '{printable(theme)}' (known: {known})"
            )
        app.theme = theme
    return app, not args.no_mouse


# Keys Textual keeps for itself, whatever the keymap says.
RESERVED_KEYS = {"ctrl+q": "quit", "ctrl+c": "quit"}


def app_bindings(app_class: type[VfioTuiApp]) -> dict[str, str]:
    """Binding id -> default keys, from the app's BINDINGS."""
    from textual.binding import Binding

    return {
        binding.id: binding.key
        for binding in app_class.BINDINGS
        if isinstance(binding, Binding) and binding.id is not None
    }


def cmd_diff(argv: Sequence[str]) -> int:
    """Compare two capture files like cmp: 0 identical, 1 different, 2 bad input or trouble."""
    parser = argparse.ArgumentParser(
        prog="vfio-tui diff",
        description="Compare two captures (raw bytes or kernel hex dumps, detected): the "
        "verdict, then struct acc_vf_data (or the mtty header) field by field. Exit status "
        "0 when identical, 1 when they differ, 2 on bad input or trouble, like cmp.",
    )
    parser.add_argument("a", help="a capture (.bin, .txt or .json) or any file")
    parser.add_argument("b", help="the other capture or file")
    parser.add_argument(
        "--list", action="store_true", help="also list every differing byte as `cmp -l` does"
    )
    parser.add_argument("--sha256", action="store_true", help="also print a SHA-256 of each")
    add_version(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    from vfio_tui.model.untrusted import printable

    try:
        return _diff(args)
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and no one to say it to.
        _silence_stdout()
        return EXIT_USAGE
    except OSError as exc:
        print(f"vfio-tui diff: {printable(str(exc.strerror or exc))}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("vfio-tui diff: out of memory", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a crash must never read as "differ" (1)
        print(f"vfio-tui diff: {printable(repr(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vfio_tui.model.untrusted import printable
    from vfio_tui.services.diffing import (
        DiffInputError,
        cmp_list,
        compare,
        field_table,
        fields,
        new_listing,
        open_file,
        sha256s,
        summary_lines,
    )

    try:
        a, b = open_file(Path(args.a)), open_file(Path(args.b))
    except DiffInputError as exc:
        print(f"vfio-tui diff: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # Only the first range is kept: the list is made in the same pass while it fits in
        # memory, and streamed from the files after the verdict beyond that.
        held = new_listing(a, b) if args.list else None
        result = compare(a, b, keep=1, listing=held)
        digests = sha256s(a, b) if args.sha256 else None
        out = summary_lines(result, a, b, digests, note_kept=False)
        table = field_table(fields(a, b))
        if table:
            out += ["", *table]
        if args.list and not result.identical:
            out.append("")
        stdout = sys.stdout
        stdout.write("\n".join(out) + "\n")
        if args.list and not result.identical:
            stdout.flush()
            for block in cmp_list(a, b, held):
                stdout.buffer.write(block)
            stdout.buffer.flush()
    finally:
        a.close()
        b.close()
    return EXIT_OK if result.identical else EXIT_UNREAD


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["diff"]:
            return cmd_diff(args[1:])
        if args[:1] == ["snapshot"]:
            return cmd_snapshot(args[1:])
        if args[:1] == ["watch"]:
            return cmd_watch(args[1:])
        return cmd_app(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
