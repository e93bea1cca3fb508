"""The live side-by-side view: both devices, their states on one timeline, and the log.

Data flows one way: a worker per side polls through the session and posts a
Polled message; handlers update the panes, which redraw only what changed.
A poll is re-armed only after the previous one finished, so a slow or hung
host never piles up work and never stalls the other pane or the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import textwrap
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import RichLog, Static

from vfio_tui.model.hosturl import HostUrl, Scheme
from vfio_tui.model.layout import FileKind
from vfio_tui.model.untrusted import printable
from vfio_tui.transport.base import (
    DeviceChoiceError,
    HostError,
    HostStatus,
    SimNote,
    TransportOptions,
)
from vfio_tui.transport.hostkeys import HostKeyError
from vfio_tui.ui.messages import ActionDone, Attached, LinkChanged, LogLine, Narration, Polled
from vfio_tui.ui.screens.dialogs import HostKeyScreen, PickerScreen
from vfio_tui.ui.widgets.footer import FittingFooter
from vfio_tui.ui.widgets.pane import DevicePane
from vfio_tui.ui.widgets.verdict import IN_PROGRESS, TimelineNotes, VerdictLine

if TYPE_CHECKING:  # these load on first use, after the first paint
    from vfio_tui.model.verdict import Verdict
    from vfio_tui.services.captures import Capture
    from vfio_tui.services.session import Action, Session
    from vfio_tui.transport.hosts import SimWorld

SIDES = ("source", "destination")
INTERVALS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
DEVICE_ACTIONS = {"save", "save_both", "io_test", "migrate"}
SIM_ONLY_ACTIONS = {"migrate", "pick_fault"}
# The main screen's keys; on the diff and help screens they do nothing.
MAIN_SCREEN_ACTIONS = DEVICE_ACTIONS | {
    "diff",
    "keep",
    "pause",
    "poll_now",
    "interval",
    "pick_fault",
    "focus_pane",
    "grow_bottom",
    "verdict",
}
# tab goes round these, in this order; the timeline and log scroll with the arrows.
FOCUS_ORDER = ("#source", "#destination", "#timeline", "#log")
RETRY_ATTACH = 2.0
MARKS = "⚠✗"  # before a key's name: touches the device; refused (read-only)


F = TypeVar("F", bound=Callable[..., None])


def while_shown(handler: F) -> F:
    """Drop a worker's message that arrives after the main screen was taken down (at exit)."""

    @functools.wraps(handler)
    def wrapper(self: VfioTuiApp, *args: object) -> None:
        # Textual clears _running first thing when it shuts down.
        if self._running and self.screen_stack:
            handler(self, *args)

    return wrapper  # type: ignore[return-value]


def _log_entry(line: str, width: int) -> Text:
    """One log entry, its continuation lines indented: the top of the log never shows
    the end of a wrapped entry as if it were an entry of its own."""
    if width < 20:
        return Text(line)  # not laid out yet: the log wraps it
    rows = textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False)
    return Text("\n".join(rows))


class VfioTuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "vfio-tui"
    ENABLE_COMMAND_PALETTE = True

    # In footer order: at 80 columns the footer is cut on the right, so what matters
    # most comes first (help lists every key, the palette runs every action).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Palette", id="palette", priority=True),
        Binding("v", "verdict", "Verdict", id="verdict"),
        Binding("s", "save", "⚠Save", id="save"),
        Binding("S", "save_both", "⚠Save both", id="save-both"),
        Binding("i", "io_test", "⚠IO test", id="io-test"),
        Binding("m", "migrate", "⚠Migrate", id="migrate"),
        Binding("f", "pick_fault", "Fault", id="pick-fault"),
        Binding("d", "diff", "Diff", id="diff"),
        Binding("k", "keep", "Keep", id="keep"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("r", "poll_now", "Poll now", id="poll-now"),
        Binding("plus", "interval(1)", "Slower", id="interval-longer", key_display="+"),
        Binding("minus", "interval(-1)", "Faster", id="interval-shorter", key_display="-"),
        Binding("tab", "focus_pane(1)", "Next panel", id="next-pane", priority=True, show=False),
        Binding(
            "shift+tab", "focus_pane(-1)", "Prev panel", id="prev-pane", priority=True, show=False
        ),
        Binding("z", "grow_bottom", "Bigger log", id="grow-log"),
    ]

    def __init__(
        self,
        source: HostUrl,
        destination: HostUrl,
        *,
        options: TransportOptions | None = None,
        world: SimWorld | None = None,
        capture_dir: Path | None = None,
        read_only: bool = False,
        interval: float = 0.5,
        scenario: str | None = None,
        keymap: dict[str, str] | None = None,
        theme: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.urls = {"source": source, "destination": destination}
        self.read_only = read_only
        self.simulated = all(url.scheme is Scheme.SIM for url in self.urls.values())
        self.clock = clock
        self.wallclock = wallclock
        self.started = clock()
        self._session_args = (options, world, capture_dir)
        self._early_log: list[str] | None = []  # None once the log is laid out
        self.interval = interval
        self.paused = False
        self._capture_failures_reported = 0
        self._capture_problem_reported: str | None = None
        self.fault = scenario or "clean"  # the simulator's fault for the next migration
        self._wake = {side: asyncio.Event() for side in SIDES}
        self.verdict: Verdict | None = None  # judged when new facts arrive, shown on a line
        self._verdict_facts: tuple[int, int, int] | None = None
        self._timeline_notes = TimelineNotes()
        self._resume = asyncio.Event()
        self._resume.set()
        # One question at a time: a second host's key dialog waits for the first
        # answer instead of covering it while the person reads it.
        self._asking = asyncio.Lock()
        self._last_side = "source"
        if keymap:
            self.set_keymap(keymap)
        if read_only:  # the footer says it in text, not by colour alone: ✗Save
            for key, bindings in self._bindings.key_to_bindings.items():
                self._bindings.key_to_bindings[key] = [
                    dataclasses.replace(b, description=f"✗{b.description.lstrip(MARKS)}")
                    if b.action.split("(")[0] in DEVICE_ACTIONS
                    else b
                    for b in bindings
                ]
        if theme:
            self.theme = theme

    @functools.cached_property
    def session(self) -> Session:
        """Made on first use, after the first frame: the first paint does not wait for it."""
        from vfio_tui.services.captures import CaptureStore, default_capture_root
        from vfio_tui.services.session import Session
        from vfio_tui.transport.hosts import SimWorld

        options, world, capture_dir = self._session_args
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.wallclock()))
        directory = capture_dir or default_capture_root() / stamp
        session = Session(
            self.urls["source"],
            self.urls["destination"],
            options=options or TransportOptions(),
            world=world or SimWorld(),
            captures=CaptureStore(directory, now=self.wallclock),
            read_only=self.read_only,
            clock=self.clock,
            started=self.started,
        )
        for side in SIDES:
            session.sides[side].transport.on_status = self._status_reporter(side)
        self.log_line(f"captures go to {session.captures.directory}")
        return session

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="topbar")
        with Horizontal(id="panes"):
            yield DevicePane("source", id="source")
            yield DevicePane("destination", id="destination")
        yield VerdictLine(id="verdict")
        with Horizontal(id="bottom"):
            timeline = RichLog(
                id="timeline", wrap=False, markup=False, max_lines=1000, min_width=20
            )
            timeline.border_title = "timeline (shared clock)"
            yield timeline
            log = RichLog(id="log", wrap=True, markup=False, max_lines=2000, min_width=20)
            log.border_title = "log"
            yield log
        yield FittingFooter(compact=True, show_command_palette=False)  # ^p is in BINDINGS

    def on_mount(self) -> None:
        if self.read_only:
            self.screen.add_class("-readonly")
        for side in SIDES:
            self.pane(side).set_identity(self.host_label(side), self.urls[side].device, None)
            self.call_after_refresh(self._start_watching, side)  # first paint, then polls
        self.pane("source").focus()
        self.call_after_refresh(self._flush_early_log)
        self.set_interval(1.0, self._tick)
        self._update_topbar()
        if self.read_only:
            self.log_line("read-only mode: save, io_test and migrate are refused")

    def _start_watching(self, side: str) -> None:
        self.run_worker(
            self._watch(side),
            group=f"poll-{side}",
            exclusive=True,
            exit_on_error=False,
            name=f"poll {side}",
        )

    def _status_reporter(self, side: str) -> Callable[[HostStatus], None]:
        def report(status: HostStatus) -> None:
            self.post_message(LinkChanged(side, status))

        return report

    def pane(self, side: str) -> DevicePane:
        # The main screen's widgets, whichever screen is on top (help, diff, a dialog).
        return self._main.query_one(f"#{side}", DevicePane)

    def host_label(self, side: str) -> str:
        """The host as headers show it: with its port when one is given (two SSH
        servers on one address differ only by it)."""
        url = self.urls[side]
        return f"{url.label}:{url.port}" if url.port else url.label

    @property
    def _main(self) -> Screen[object]:
        return self.screen_stack[0]

    def _update_topbar(self) -> None:
        parts = [
            "vfio-tui",
            f"{self.host_label('source')} → {self.host_label('destination')}",
            f"poll {self.interval:g} s",
        ]
        if self.paused:
            parts.append("PAUSED")
        if self.read_only:
            parts.append("READ-ONLY")
        if self.simulated:
            parts.append(f"next fault: {self.fault}")
        self._main.query_one("#topbar", Static).update(Text(printable(" │ ".join(parts))))

    @while_shown
    def _tick(self) -> None:
        now = self.wallclock()
        for side in SIDES:
            self.pane(side).tick(now, None if self.paused else self.interval)
        if not self.paused and self.verdict is not None and self.verdict.outcome is IN_PROGRESS:
            self._update_verdict(again=True)  # "for 3.2 s", and stuck, go with the clock

    # --- logging ----------------------------------------------------------------------

    def log_line(self, text: str, side: str | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wallclock()))
        clock = self.clock() - self.started
        who = f"[{side}] " if side else ""
        # Messages carry host text (names, errors, stderr): escaped here, where shown.
        line = f"{stamp} +{clock:.2f}s {who}{printable(text)}"
        logs = (
            list(self.screen_stack[0].query("#log").results(RichLog)) if self.screen_stack else []
        )
        if self._early_log is not None or not logs:
            # before the log is laid out: written once its width is known, in order
            if self._early_log is not None:
                self._early_log.append(line)
            return
        for log in logs:
            log.write(_log_entry(line, log.scrollable_content_region.width))

    def _flush_early_log(self) -> None:
        lines, self._early_log = self._early_log or [], None
        log = self._main.query_one("#log", RichLog)
        for line in lines:
            log.write(_log_entry(line, log.scrollable_content_region.width))

    @while_shown
    def on_log_line(self, message: LogLine) -> None:
        self.log_line(message.text, message.side)

    # --- polling ----------------------------------------------------------------------

    async def _watch(self, side: str) -> None:
        """Attach (answering host key and device questions), then poll until the end."""
        await self._connect_side(side)
        self.post_message(Attached(side))
        while True:
            await self._resume.wait()
            try:
                outcome = await self.session.poll(side)
            except Exception as exc:  # a bug below must not leave a silently dead pane
                self.post_message(LogLine(f"ERROR polling failed: {exc!r}; retrying", side))
                await asyncio.sleep(RETRY_ATTACH)
                continue
            self.post_message(Polled(side, outcome))
            wake = self._wake[side]
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await wake.wait()

    async def _connect_side(self, side: str) -> None:
        device: str | None = None
        while True:
            try:
                await self.session.attach(side, device)
                return
            except HostKeyError as exc:
                async with self._asking:
                    answer = await self.push_screen_wait(HostKeyScreen(side, exc.problem))
                if answer == "quit":
                    self.exit(1, return_code=1)
                    return
                transport = self.session.sides[side].transport
                transport.accept_host_key(exc.problem.fingerprint, save=answer == "always")  # type: ignore[attr-defined]
                self.post_message(
                    LogLine(f"host key {exc.problem.fingerprint} accepted ({answer})", side)
                )
            except DeviceChoiceError as exc:
                if not exc.devices:
                    self.post_message(LogLine(exc.message, side))
                    await asyncio.sleep(RETRY_ATTACH * 5)
                    continue
                choices = [(d, d) for d in exc.devices]
                async with self._asking:
                    picked = await self.push_screen_wait(
                        PickerScreen(
                            f"{side}: pick a device on {self.host_label(side)}",
                            choices,
                            exc.message,
                        )
                    )
                if picked is None:
                    self.exit(1, return_code=1)
                    return
                device = picked
            except HostError as exc:
                self.post_message(LogLine(exc.message, side))
                await asyncio.sleep(RETRY_ATTACH)

    @while_shown
    def on_attached(self, message: Attached) -> None:
        side = self.session.sides[message.side]
        self.pane(message.side).set_identity(
            self.host_label(message.side), side.device, side.layout
        )
        self.log_line(f"watching {side.device} ({side.layout.short})", message.side)

    @while_shown
    def on_link_changed(self, message: LinkChanged) -> None:
        self.pane(message.side).set_status(message.status)
        if message.status.message:
            self.log_line(message.status.describe(), message.side)

    @while_shown
    def on_polled(self, message: Polled) -> None:
        outcome = message.outcome
        pane = self.pane(message.side)
        if outcome.layout is not None:  # the device's files were listed anew
            side = self.session.sides[message.side]
            pane.set_identity(side.url.label, side.device, outcome.layout)
        pane.show_snapshot(outcome.snapshot, self.session.timeline.last_readable(message.side))
        pane.tick(self.wallclock(), self.interval)
        timeline = self._main.query_one("#timeline", RichLog)
        for line in self._update_verdict():  # inferred states: before the reading implying them
            timeline.write(line)
        if outcome.event is not None:
            event = outcome.event
            who = "src" if event.side == "source" else "      dst"
            timeline.write(Text(f"{event.at:8.2f}s {who} {printable(event.state)}"))
            if event.previous is not None:
                self.log_line(f"state {event.previous} -> {event.state}", message.side)
        for capture in outcome.captures:
            self._log_kept(capture, message.side)
        self._report_capture_failures()
        if self.verdict is not None:
            for line in self._timeline_notes.ended(self.verdict):
                timeline.write(line)

    def _update_verdict(self, again: bool = False) -> list[Text]:
        """Judge again if facts arrived since the last verdict (or `again`, as time passes);
        show it on the verdict line and an open verdict screen. Returns the timeline entries
        for inferred states not shown yet."""
        from vfio_tui.ui.screens.verdict import VerdictScreen

        record = self.session.record
        facts = (len(record.readings), len(record.actions), len(record.qmp))
        if facts == self._verdict_facts and not again:
            return []
        self._verdict_facts = facts
        self.verdict = verdict = self.session.verdict()
        self._main.query_one("#verdict", VerdictLine).show(verdict)
        if isinstance(self.screen, VerdictScreen):
            self.screen.show(verdict)
        return self._timeline_notes.inferred(verdict)

    def _report_capture_failures(self, always: bool = False) -> bool:
        """Say (log and notification) that captures could not be written: once per reason
        for what polling keeps, `always` for what the person asked to keep. True if any."""
        failures = self.session.capture_failures
        if failures == self._capture_failures_reported:
            return False
        self._capture_failures_reported = failures
        if always or self.session.capture_problem != self._capture_problem_reported:
            self._capture_problem_reported = self.session.capture_problem
            self.log_line(f"ERROR {self.session.capture_problem}")
            problem = printable(str(self.session.capture_problem))
            self.notify(problem, severity="error", timeout=10, markup=False)
        return True

    # --- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS and self.screen_stack and self.screen is not self._main:
            return False  # the main screen's keys do nothing on the diff or help screens
        if action in SIM_ONLY_ACTIONS and not self.simulated:
            return False  # hidden: only the simulator can migrate
        if action in DEVICE_ACTIONS and self.read_only:
            return None  # shown disabled; on_key says why when pressed
        return True

    def on_key(self, event: events.Key) -> None:
        """A key of a disabled device action: say it was refused, and why."""
        binding = self.screen.active_bindings.get(event.key)
        if (
            binding is not None
            and not binding.enabled
            and binding.binding.action in (DEVICE_ACTIONS)
        ):
            message = f"read-only mode: {binding.binding.description.lstrip(MARKS)} refused"
            self.notify(message, severity="warning", markup=False)
            self.log_line(message)
            event.stop()

    def _focused_side(self) -> str:
        """The pane in focus, or the one last in focus (while the timeline or log is)."""
        focused = self.focused
        while focused is not None and not isinstance(focused, DevicePane):
            focused = focused.parent  # type: ignore[assignment]
        if isinstance(focused, DevicePane):
            self._last_side = focused.side
        return self._last_side

    def action_focus_pane(self, step: int) -> None:
        widgets = [self._main.query_one(selector) for selector in FOCUS_ORDER]
        focused = self.focused
        while focused is not None and focused not in widgets:
            focused = focused.parent  # type: ignore[assignment]
        current = widgets.index(focused) if focused in widgets else 0
        self._focused_side()
        widgets[(current + step) % len(widgets)].focus()

    def action_grow_bottom(self) -> None:
        """The timeline and log: a few rows, or half the screen."""
        self._main.toggle_class("-tall-bottom")

    def action_save(self) -> None:
        self._act(self._focused_side(), "save")

    def action_save_both(self) -> None:
        for side in SIDES:
            self._act(side, "save")

    def action_io_test(self) -> None:
        self._act(self._focused_side(), "io_test")

    def _act(self, side: str, name: str) -> None:
        from vfio_tui.services.session import Action

        action = Action(name)
        self.run_worker(
            self._perform(side, action), group=f"action-{side}-{action.value}", exit_on_error=False
        )

    async def _perform(self, side: str, action: Action) -> None:
        self.post_message(ActionDone(await self.session.act(side, action)))

    @while_shown
    def on_action_done(self, message: ActionDone) -> None:
        outcome = message.outcome
        kind = self.session.action_file(outcome.side, outcome.action)
        if outcome.done:
            self.pane(outcome.side).show_action(outcome, kind)
        else:
            self.notify(printable(outcome.message), severity="warning", markup=False)
        self.log_line(outcome.message, outcome.side)
        self._report_capture_failures()
        for line in self._update_verdict():  # an action's answer is a fact too
            self._main.query_one("#timeline", RichLog).write(line)

    def action_keep(self) -> None:
        """Keep the focused side's migration data as it is now, as a capture."""
        side = self._focused_side()
        layout = self.session.sides[side].layout
        kind = layout.data_file
        if kind is None:
            self.notify(f"the {side} device shows no migration data", severity="warning")
            return
        capture = self.session.keep(side, kind.path)
        if capture is None:
            if not self._report_capture_failures(always=True):
                self.notify(self._nothing_to_keep(side, kind), severity="warning", markup=False)
            return
        self._log_kept(capture, side)

    def _nothing_to_keep(self, side: str, kind: FileKind) -> str:
        """Why `k` kept nothing: the file's error in words, and what the pane shows instead."""
        from vfio_tui.model.explain import explain

        snapshot = self.session.sides[side].snapshot
        result = snapshot.files.get(kind.path) if snapshot else None
        why = "not read yet"
        if result is not None and result.error is not None:
            error = result.error
            name = error.errno_name or error.kind.value
            why = f"{name}: {explain(kind, error) or printable(error.message)}"
        message = f"nothing to keep: {kind.short} could not be read ({why})"
        if self.pane(side).shows_saved_dev_data:
            message += "; the dev_data shown was kept when it was saved"
        return message

    def _log_kept(self, capture: Capture, side: str) -> None:
        kind = FileKind.from_path(capture.file)
        # A hex-dump file shows at most 144 of acc_vf_data's 176 bytes: say which these are.
        what = "bytes of its dump" if kind is not None and kind.carries_data else "bytes"
        self.log_line(f"kept {capture.file} ({capture.size} {what}) as {capture.id}", side)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._resume.clear()
        else:
            self._resume.set()
        self.screen.set_class(self.paused, "-paused")
        self.log_line("polling paused" if self.paused else "polling resumed")
        self._update_topbar()

    def action_poll_now(self) -> None:
        if self.paused:
            self.action_pause()
        self.session.retry_now()  # a host backing off or failed is tried again at once
        for wake in self._wake.values():
            wake.set()

    def action_interval(self, step: int) -> None:
        nearest = min(range(len(INTERVALS)), key=lambda i: abs(INTERVALS[i] - self.interval))
        index = max(0, min(len(INTERVALS) - 1, nearest + step))
        self.interval = INTERVALS[index]
        self.log_line(f"poll interval {self.interval:g} s")
        self._update_topbar()

    def action_migrate(self) -> None:
        self.run_worker(self._migrate(), group="migrate", exclusive=True, exit_on_error=False)

    async def _migrate(self) -> None:
        def narrate(note: SimNote) -> None:
            self.post_message(Narration(note))

        self.post_message(LogLine(await self.session.migrate(self.fault, narrate)))

    @while_shown
    def on_narration(self, message: Narration) -> None:
        note = message.note
        self.log_line(f"sim {note.actor}: {note.text}")

    @work(group="pick-fault", exclusive=True)
    async def action_pick_fault(self) -> None:
        choices = [(f.name, f"{f.name}: {f.summary}") for f in self.session.faults()]
        picked = await self.push_screen_wait(
            PickerScreen("Fault for the next migration (then press m)", choices)
        )
        if picked is not None:
            self.fault = picked
            self.log_line(f"next migration: {picked}")
            self._update_topbar()

    def action_diff(self) -> None:
        from vfio_tui.ui.screens.diff import DiffScreen

        self.push_screen(DiffScreen(self.session.captures))

    def action_verdict(self) -> None:
        from vfio_tui.ui.screens.verdict import VerdictScreen

        if self.verdict is None:
            self._update_verdict(again=True)
        assert self.verdict is not None
        self.push_screen(VerdictScreen(self.verdict))

    def action_help(self) -> None:
        from vfio_tui.ui.screens.diff import DiffScreen
        from vfio_tui.ui.screens.help import HelpScreen

        faults = [(f.name, f.summary) for f in self.session.faults()]
        diff_keys = [
            (keys, f"diff screen: {description}", binding_id, False)
            for keys, description, binding_id, _ in self.key_table(DiffScreen.BINDINGS)
        ]
        self.push_screen(HelpScreen(list(self.key_table()), faults, diff_keys))

    def key_table(
        self, bindings: Iterable[BindingType] | None = None
    ) -> Iterable[tuple[str, str, str, bool]]:
        """(keys as the footer names them, what they do, binding id, touches the device)."""
        for binding in self.BINDINGS if bindings is None else bindings:
            assert isinstance(binding, Binding) and binding.id is not None
            keys = self._keymap.get(binding.id, binding.key)
            device = binding.action.split("(")[0] in DEVICE_ACTIONS
            yield self._key_names(keys), binding.description.lstrip("⚠"), binding.id, device

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own commands, then every binding of the screen the palette was opened on."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            name = binding.action.split("(")[0]
            if name == "command_palette":
                continue
            if name in MAIN_SCREEN_ACTIONS and screen is not self._main:
                continue
            if name in SIM_ONLY_ACTIONS and not self.simulated:
                continue
            keys = self._keymap.get(binding.id or "", binding.key)
            refused = name in DEVICE_ACTIONS and self.read_only
            yield SystemCommand(
                binding.description.lstrip("⚠") + (" (refused: read-only)" if refused else ""),
                f"key {self._key_names(keys)} (id {binding.id})",
                lambda action=binding.action: self.run_action(action),
            )

    def _key_names(self, keys: str) -> str:
        """Keys as the footer shows them: `?`, `+`, `^p`, not `question_mark`."""
        return ", ".join(self.get_key_display(Binding(key, "")) for key in keys.split(","))

    async def action_quit(self) -> None:
        self.exit(0)  # on_unmount stops the workers and closes the session

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        if "session" in self.__dict__:  # made on first use: close only what exists
            await self.session.close()
