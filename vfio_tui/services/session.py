"""A session: both sides of a migration watched together. Textual-free.

It owns the two transports and pollers, the shared clock and the timeline,
keeps captures of the migration data as it changes, and performs the device
actions (save, io_test) with the guards people rely on when pairing: refused
in read-only mode, never run twice at once, and a repeat of the same key
within a moment ignored, so a key repeat cannot fire an action twice.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vfio_tui.model.accdata import is_mtty_data
from vfio_tui.model.formats import FormatError, Notice, decode_dump, parse_save
from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.layout import FileKind, Layout, detect_layout
from vfio_tui.model.snapshot import DeviceSnapshot, FileResult
from vfio_tui.model.timeline import StateEvent, Timeline
from vfio_tui.model.verdict import DEFAULT_STUCK_AFTER, Record, Verdict, judge
from vfio_tui.services.captures import Capture, CaptureStore
from vfio_tui.services.poller import DevicePoller
from vfio_tui.transport.base import (
    FaultInfo,
    HostTransport,
    SimNote,
    SimulatorControls,
    TransportOptions,
)
from vfio_tui.transport.hosts import SimWorld, open_transport

ACTION_COOLDOWN = 0.6  # a second press of the same action within this is a key repeat


class Action(enum.Enum):
    SAVE = "save"
    IO_TEST = "io_test"


@dataclass
class Side:
    name: str  # "source" / "destination"
    url: HostUrl
    transport: HostTransport
    device: str | None = None
    files: list[str] = field(default_factory=list)
    poller: DevicePoller | None = None
    snapshot: DeviceSnapshot | None = None
    busy: set[Action] = field(default_factory=set)
    finished_at: dict[Action, float] = field(default_factory=dict)
    seen_data: dict[str, bytes] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return detect_layout(self.files)


@dataclass(frozen=True)
class PollOutcome:
    snapshot: DeviceSnapshot
    changed: frozenset[str]  # paths whose result differs from the previous poll
    event: StateEvent | None
    captures: tuple[Capture, ...]
    layout: Layout | None = None  # the device's layout, when its file list changed


@dataclass(frozen=True)
class ActionOutcome:
    side: str
    action: Action
    done: bool  # False: refused or ignored, `message` says why
    message: str
    result: FileResult | None = None
    capture: Capture | None = None


class Session:
    def __init__(
        self,
        source: HostUrl,
        destination: HostUrl,
        *,
        options: TransportOptions,
        world: SimWorld,
        captures: CaptureStore,
        read_only: bool = False,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> None:
        self.world = world
        self.captures = captures
        self.read_only = read_only
        self.clock = clock
        self.started = clock() if started is None else started
        self.timeline = Timeline()
        self.record = Record()  # every file result and action result, for the verdict
        # A capture that could not be written (disk full, no permission): counted, and the
        # latest reason kept, so the app can say so once instead of on every poll.
        self.capture_failures = 0
        self.capture_problem: str | None = None
        self.sides = {
            "source": Side("source", source, open_transport(source, options, world)),
            "destination": Side(
                "destination", destination, open_transport(destination, options, world)
            ),
        }

    def now(self) -> float:
        """Seconds on the shared clock."""
        return self.clock() - self.started

    # --- connecting and polling ----------------------------------------------------------

    async def attach(self, name: str, device: str | None = None) -> Side:
        """Connect and pick the device (raises HostError, HostKeyError, DeviceChoiceError)."""
        side = self.sides[name]
        await side.transport.connect()
        chosen, files = await side.transport.resolve_device(device or side.url.device)
        side.device = chosen
        side.files = sorted(files)
        side.poller = DevicePoller(side.transport, chosen, files)
        return side

    async def poll(self, name: str) -> PollOutcome:
        side = self.sides[name]
        assert side.poller is not None, "attach() first"
        snap = await side.poller.poll()
        layout = None
        if side.poller.listing != side.files:  # the poller listed the device's files anew
            side.files = list(side.poller.listing)
            layout = side.layout
        previous = side.snapshot
        side.snapshot = snap
        changed = frozenset(
            path
            for path, result in snap.files.items()
            if previous is None or previous.files.get(path) != result
        )
        self.record.read(name, self.now(), snap.files)
        state = snap.files.get(FileKind.STATE.path)
        label = snap.state_name if snap.state_name is not None else _unreadable(state)
        event = self.timeline.observe(name, label, self.now())
        captured = []
        for kind in (FileKind.DATA, FileKind.MIGF_DATA):
            result = snap.files.get(kind.path)
            if kind.path in changed and result is not None and result.data is not None:
                capture = self._capture(side, kind, result.data, "changed", only_new=True)
                if capture is not None:
                    captured.append(capture)
        return PollOutcome(snap, changed, event, tuple(captured), layout)

    def retry_now(self) -> None:
        """Both hosts: forget any backoff or failure, so the next poll connects at once."""
        for side in self.sides.values():
            side.transport.retry_now()

    def verdict(self, stuck_after: float = DEFAULT_STUCK_AFTER) -> Verdict:
        """The verdict on the migration from everything read so far (model.verdict.judge)."""
        return judge(self.record.facts(self.now()), stuck_after)

    def states(self) -> dict[str, str | None]:
        return {name: self.timeline.last(name) for name in self.sides}

    def _capture(
        self, side: Side, kind: FileKind, text: bytes, reason: str, *, only_new: bool
    ) -> Capture | None:
        """Keep the data of a hex-dump file (`only_new`: unless it is what was last kept)."""
        data = decode_dump(kind, text)
        if data is None or (only_new and side.seen_data.get(kind.path) == data):
            return None
        side.seen_data[kind.path] = data  # polling will not keep the same bytes again
        return self._keep(side, kind.path, data, text, reason)

    def _keep(
        self, side: Side, path: str, data: bytes, text: bytes | None, reason: str
    ) -> Capture | None:
        """Write a capture; None if the capture directory refuses it (see capture_problem)."""
        try:
            capture = self.captures.add(
                side=side.name,
                host=str(side.url.without_device),
                device=side.device or "",
                file=path,
                kind="mtty" if is_mtty_data(data) else "acc_vf_data",
                reason=reason,
                data=data,
                text=text,
                clock=self.now(),
                states=self.states(),
            )
            notice = self.captures.take_notice()  # the capture budget was reached: say so
            if notice is not None:
                self.capture_failures += 1
                self.capture_problem = notice
            return capture
        except OSError as exc:
            self.capture_failures += 1
            self.capture_problem = (
                f"captures cannot be written to {self.captures.directory}: "
                f"{exc.strerror or exc}; the data is still shown, but not kept"
            )
            return None

    def keep(self, name: str, path: str) -> Capture | None:
        """Keep the last content of a file of `name` as a capture (the person asked)."""
        side = self.sides[name]
        result = side.snapshot.files.get(path) if side.snapshot else None
        if result is None or result.data is None:
            return None
        kind = FileKind.from_path(path)
        data = result.data
        if kind is not None and kind.carries_data:
            data = decode_dump(kind, result.data) or result.data
        return self._keep(side, path, data, result.data, "kept")

    # --- actions ------------------------------------------------------------------------

    def action_file(self, name: str, action: Action) -> FileKind | None:
        layout = self.sides[name].layout
        return layout.save_file if action is Action.SAVE else layout.io_test_file

    async def act(self, name: str, action: Action) -> ActionOutcome:
        """Run `action` on one side, unless read-only, already running, or just done."""
        side = self.sides[name]
        verb = action.value
        if self.read_only:
            return ActionOutcome(
                name, action, False, f"read-only mode: {verb} on the {name} refused"
            )
        if side.device is None:
            return ActionOutcome(name, action, False, f"{verb}: the {name} is not connected")
        target = self.action_file(name, action)
        if target is None:
            return ActionOutcome(
                name,
                action,
                False,
                f"{verb}: {side.device} has no driver files for it ({side.layout.value})",
            )
        if action in side.busy:
            return ActionOutcome(name, action, False, f"{verb} on the {name} is still running")
        last = side.finished_at.get(action)
        if last is not None and self.clock() - last < ACTION_COOLDOWN:
            return ActionOutcome(
                name, action, False, f"{verb} on the {name} repeated at once: ignored"
            )
        side.busy.add(action)
        try:
            return await self._perform(side, action, target)
        finally:
            side.busy.discard(action)
            side.finished_at[action] = self.clock()

    async def _perform(self, side: Side, action: Action, target: FileKind) -> ActionOutcome:
        assert side.device is not None
        result = await side.transport.trigger(side.device, target.path)
        self.record.acted(side.name, self.now(), target.path, result)
        verb = action.value
        if result.error is not None:
            return ActionOutcome(
                side.name, action, True, f"{verb} ({target.short}) failed: {result.error}", result
            )
        assert result.data is not None
        capture = None
        if action is Action.SAVE and target is FileKind.DEV_DATA:
            capture = self._capture(side, target, result.data, "save", only_new=False)
        elif action is Action.SAVE and target is FileKind.SAVE:
            try:
                saved = parse_save(result.data)
            except FormatError as exc:
                return ActionOutcome(side.name, action, True, f"{verb}: {exc}", result)
            if saved.notice is not Notice.SAVE_OK:
                return ActionOutcome(
                    side.name, action, True, f"{verb}: {saved.notice.value}", result
                )
            # The 2023 `save` stores the image in the driver; `data` shows it.
            fresh = (await side.transport.read_files(side.device, [FileKind.DATA.path]))[
                FileKind.DATA.path
            ]
            if fresh.data is not None:
                capture = self._capture(side, FileKind.DATA, fresh.data, "save", only_new=False)
        text = result.data.decode("ascii", "replace").strip().splitlines()
        summary = text[-1] if text else "(empty)"
        kept = f"; kept as {capture.id}" if capture else ""
        return ActionOutcome(
            side.name, action, True, f"{verb} ({target.short}): {summary}{kept}", result, capture
        )

    # --- the simulator ------------------------------------------------------------------

    @property
    def simulator(self) -> SimulatorControls | None:
        """The simulator's controls when both hosts are simulated (None otherwise)."""
        controls = [side.transport.simulator() for side in self.sides.values()]
        return controls[0] if None not in controls else None

    @property
    def simulated(self) -> bool:
        return self.simulator is not None

    def faults(self) -> list[FaultInfo]:
        """The faults the next simulated migration can be given (none on real hosts)."""
        controls = self.simulator
        return controls.faults() if controls is not None else []

    async def migrate(self, fault: str, narrate: Callable[[SimNote], None]) -> str:
        """Start a simulated migration of the watched device; returns what happened."""
        controls = self.simulator
        if controls is None:
            return "migrations can be started on the simulated hosts (sim://) only"
        if self.read_only:
            return "read-only mode: migration refused"
        src, dst = self.sides["source"].device, self.sides["destination"].device
        if src is None or src != dst:
            return "a simulated migration moves the same device name on both hosts"
        return (await controls.migrate(src, fault, narrate)).message

    async def close(self) -> None:
        await asyncio.gather(*(s.transport.close() for s in self.sides.values()))
        await self.world.stop()


def _unreadable(result: FileResult | None) -> str:
    if result is None:
        return "(no state file)"
    if result.error is not None:
        return f"({result.error.kind.value})"
    return "(unparsable)"
