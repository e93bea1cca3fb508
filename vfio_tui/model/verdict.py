"""The verdict on a migration: did it succeed, fail or hang, where, why, and what next. Pure.

The input is only what real hosts show: every debugfs file result read on either
side with its time on the shared clock, the results of actions a person ran,
and (later) QMP facts. A simulator's scenario or narration is never an input, so
a migration served over SSH by `vfio-sim serve` gets the same verdict as in
process. Signatures come from the kernel (drivers/vfio/vfio_main.c,
drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c, samples/vfio-mdev/mtty.c) and
QEMU's hw/vfio/migration.c; where the facts do not single out a cause, the
verdict says `unknown` and what it saw.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vfio_tui.model.accdata import (
    ACC_DEVICE_NAMES,
    ACC_VF_DATA_SIZE,
    QM_MATCH_SIZE,
    acc_fields_for,
)
from vfio_tui.model.formats import (
    MAILBOX_NOT_READY,
    AttrFile,
    DataFile,
    FormatError,
    IoTestFile,
    MigfDataFile,
    SaveFile,
    parse_file,
    parse_state,
)
from vfio_tui.model.layout import FileKind, Layout, detect_layout
from vfio_tui.model.snapshot import FileResult, ReadError, ReadErrorKind
from vfio_tui.model.states import QM_NOT_READY, MigrationState

S = MigrationState
SOURCE, DESTINATION = "source", "destination"
SIDES = (SOURCE, DESTINATION)
DEFAULT_STUCK_AFTER = 30.0  # seconds without a state change mid-migration before "stuck"


class Outcome(enum.Enum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STUCK = "stuck"
    UNKNOWN = "unknown"


class Cause(enum.Enum):
    MATCH_MISMATCH = "match-mismatch"
    HUNG_SAVE = "hung-save"
    MAILBOX_NOT_READY = "mailbox-not-ready"
    GUEST_DRIVER_NOT_LOADED = "guest-driver-not-loaded"
    CORRUPT_TRANSFER = "corrupt-transfer"
    DEVICE_UNPLUG = "device-unplug"
    PRECOPY_HANG = "precopy-hang"
    DESTINATION_ERROR = "destination-error"
    SOURCE_ERROR = "source-error"
    BOTH_RUNNING = "both-running"
    SOURCE_RESUMED = "source-resumed"
    HOST_UNREACHABLE = "host-unreachable"
    STATE_UNREADABLE = "state-unreadable"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CauseInfo:
    signature: str  # what the hosts show, in words (the README's table says the same)
    next_steps: tuple[str, ...]


CAUSES: Mapping[Cause, CauseInfo] = {
    Cause.MATCH_MISMATCH: CauseInfo(
        "hisi_acc: the source finished its save (STOP_COPY seen, or its data is complete), "
        "the destination received the data (its migf_data / data holds it) but stays in "
        "RESUMING: the load (RESUMING -> STOP) refused it; the source went back to RUNNING",
        (
            "press d: compare the match header (magic, qp_num, dev_id, que_iso_cfg, version) "
            "with the destination VF's own",
            "on the destination host: lspci -n -s DEVICE (the VF's device id) and "
            "dmesg | grep -i hisi (`failed to match`)",
        ),
    ),
    Cause.HUNG_SAVE: CauseInfo(
        "the source's `state` read blocks (the driver holds its state mutex) in STOP_COPY or "
        "while entering it; the destination waits in RESUMING",
        (
            "on the source host: dmesg | grep -iE 'hisi|vfio|blocked for more than'",
            "on the source host: cat /proc/$(pgrep -f qemu)/stack for the QEMU thread",
            "if the kernel predates the June 2026 fix and QEMU restarted the migration, it "
            "may be the precopy-hang loop: check uname -r",
        ),
    ),
    Cause.MAILBOX_NOT_READY: CauseInfo(
        "hisi_acc: the source went RUNNING -> PRE_COPY and back to RUNNING without reaching "
        "STOP_COPY (its data holds only the 40-byte pre-copy match data, guest driver "
        "loaded): stopping the VF (a mailbox command) failed; io_test 0xffffffff or "
        "cmd_state EINVAL confirms it",
        (
            "on the source: press i (io_test / cmd_state): 0xffffffff or EINVAL means the "
            "mailbox is not ready",
            "on the source host: dmesg | grep -i 'hisi.*mailbox'",
        ),
    ),
    Cause.GUEST_DRIVER_NOT_LOADED: CauseInfo(
        "a warning on a succeeded migration: the migrated data is only the 40-byte match "
        "data and vf_qm_state says NOT_READY (attr `device  ready: 1`, migf_data length 40)",
        (
            "in the guest: load the accelerator's driver (e.g. modprobe hisi_sec2) before "
            "migrating, so the VF's state is carried",
        ),
    ),
    Cause.CORRUPT_TRANSFER: CauseInfo(
        "the migration completed (destination RUNNING, source STOP) but the source's and the "
        "destination's migration data differ byte for byte",
        (
            "press d: the diff shows which fields differ",
            "check the migration stream's transport (network, multifd, compression)",
        ),
    ),
    Cause.DEVICE_UNPLUG: CauseInfo(
        "a side's device directory vanished (every file ENOENT) after it had been seen: "
        "the VF was unbound or removed mid-migration",
        (
            "on that host: dmesg | grep -iE 'vfio|remove|unbind'",
            "ls /sys/kernel/debug/vfio/ to see whether the device came back",
        ),
    ),
    Cause.PRECOPY_HANG: CauseInfo(
        "the source's `state` read blocks after STOP_COPY and the migration was restarted "
        "(a QMP fact): PRE_COPY requested from STOP_COPY loops forever on kernels before "
        "the June 2026 fix",
        (
            "on the source host: uname -r; update to a kernel with the fix",
            "a reboot of the source host frees the device",
        ),
    ),
    Cause.DESTINATION_ERROR: CauseInfo(
        "the destination device reads ERROR after it had been opened for the migration",
        ("on the destination host: dmesg | grep -i vfio", "reset the device or rebind it"),
    ),
    Cause.SOURCE_ERROR: CauseInfo(
        "the source device reads ERROR after the migration started",
        ("on the source host: dmesg | grep -i vfio",),
    ),
    Cause.BOTH_RUNNING: CauseInfo(
        "both sides read RUNNING after the destination loaded the data: the guest may be "
        "running twice",
        (
            "stop one of the two VMs now (normally the source)",
            "check the management layer (libvirt) for a migration that was cancelled late",
        ),
    ),
    Cause.SOURCE_RESUMED: CauseInfo(
        "the source went back to RUNNING after the migration started, and the facts name no "
        "cause (the destination did not load the data)",
        (
            "read the source QEMU's log or query-migrate's error-desc",
            "on both hosts: dmesg | grep -i vfio",
        ),
    ),
    Cause.HOST_UNREACHABLE: CauseInfo(
        "a host cannot be reached (connection refused, timed out or dropped)",
        ("check the network path and sshd on that host",),
    ),
    Cause.STATE_UNREADABLE: CauseInfo(
        "the `state` file cannot be read: permission denied, an errno, unparsable text, or "
        "a read that blocks outside a migration",
        ("read it by hand: sudo cat /sys/kernel/debug/vfio/DEVICE/migration/state",),
    ),
    Cause.UNKNOWN: CauseInfo(
        "something is wrong but the facts do not single out a cause",
        ("see the evidence; compare both hosts' dmesg and QEMU's query-migrate",),
    ),
}


# --- the input: facts as the hosts showed them -----------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A file result read by polling (recorded when first seen and when it changes)."""

    index: int
    at: float  # seconds on the shared clock
    side: str
    path: str
    result: FileResult


@dataclass(frozen=True)
class ActionFact:
    """An action a person ran (save, io_test...) and what the device answered."""

    index: int
    at: float
    side: str
    path: str  # the action file, e.g. hisi_acc/io_test
    result: FileResult


@dataclass(frozen=True)
class QmpFact:
    """A fact from QEMU's monitor (an event or a query-migrate answer). A slot for later."""

    index: int
    at: float
    side: str
    name: str  # e.g. "MIGRATION", "VFIO_MIGRATION", "query-migrate"
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    readings: tuple[Reading, ...] = ()
    actions: tuple[ActionFact, ...] = ()
    qmp: tuple[QmpFact, ...] = ()
    now: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Everything a verdict was judged from: `judge(Facts.from_json(x))` gives it again.

        An evidence reference's `index` is the position in its list here."""

        def fact(at: float, side: str, path: str, result: FileResult) -> dict[str, Any]:
            return {"at": at, "side": side, "path": path, **result.to_json()}

        return {
            "now": self.now,
            "readings": [fact(r.at, r.side, r.path, r.result) for r in self.readings],
            "actions": [fact(a.at, a.side, a.path, a.result) for a in self.actions],
            "qmp": [
                {"at": q.at, "side": q.side, "name": q.name, "data": dict(q.data)} for q in self.qmp
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facts:
        """The facts `to_json` wrote; ValueError (or KeyError, TypeError) if malformed."""

        def result(item: Mapping[str, Any]) -> FileResult:
            return FileResult.from_json(str(item["path"]), item)

        return cls(
            tuple(
                Reading(i, float(r["at"]), str(r["side"]), str(r["path"]), result(r))
                for i, r in enumerate(data.get("readings", ()))
            ),
            tuple(
                ActionFact(i, float(a["at"]), str(a["side"]), str(a["path"]), result(a))
                for i, a in enumerate(data.get("actions", ()))
            ),
            tuple(
                QmpFact(
                    i,
                    float(q["at"]),
                    str(q["side"]),
                    str(q["name"]),
                    {str(k): str(v) for k, v in q.get("data", {}).items()},
                )
                for i, q in enumerate(data.get("qmp", ()))
            ),
            float(data.get("now", 0.0)),
        )


def _same(old: FileResult | None, new: FileResult) -> bool:
    if old is None or old.data != new.data:
        return False
    if old.error is None or new.error is None:
        return old.error is new.error
    return (old.error.kind, old.error.errno) == (new.error.kind, new.error.errno)


class Record:
    """Collects facts as they arrive, keeping a file's result only when it changes."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.actions: list[ActionFact] = []
        self.qmp: list[QmpFact] = []
        self._last: dict[tuple[str, str], FileResult] = {}
        self.latest = 0.0

    def read(self, side: str, at: float, files: Mapping[str, FileResult]) -> None:
        self.latest = max(self.latest, at)
        for path, result in files.items():
            if _same(self._last.get((side, path)), result):
                continue  # e.g. "still blocked for 7 s": the same fact, newer words
            self._last[(side, path)] = result
            self.readings.append(Reading(len(self.readings), at, side, path, result))

    def unreachable(self, side: str, at: float, error: ReadError) -> None:
        """A side that could not be read at all (its connection or device failed)."""
        self.read(side, at, {FileKind.STATE.path: FileResult(FileKind.STATE.path, error=error)})

    def acted(self, side: str, at: float, path: str, result: FileResult) -> None:
        self.latest = max(self.latest, at)
        self.actions.append(ActionFact(len(self.actions), at, side, path, result))

    def facts(self, now: float | None = None) -> Facts:
        return Facts(
            tuple(self.readings),
            tuple(self.actions),
            tuple(self.qmp),
            self.latest if now is None else now,
        )


# --- the output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """Where a fact came from: a reading, an action or a QMP fact of the input, by index."""

    kind: str  # "reading", "action", "qmp"
    index: int
    side: str
    at: float
    path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "side": self.side,
            "at": round(self.at, 3),
            "path": self.path,
        }


@dataclass(frozen=True)
class Evidence:
    text: str
    refs: tuple[Ref, ...]

    def to_json(self) -> dict[str, Any]:
        return {"fact": self.text, "from": [r.to_json() for r in self.refs]}


@dataclass(frozen=True)
class Where:
    side: str | None = None  # "source", "destination", or None for both / neither
    transition: str | None = None  # e.g. "RESUMING -> STOP"
    file: str | None = None
    at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "transition": self.transition,
            "file": self.file,
            "at": None if self.at is None else round(self.at, 3),
        }

    def words(self) -> str:
        parts = [p for p in (self.side, self.transition, self.file) if p]
        if self.at is not None:
            parts.append(f"at {self.at:.2f} s")
        return " ".join(parts)


@dataclass(frozen=True)
class InferredState:
    """A state the readings imply but did not show (polling misses short states)."""

    side: str
    state: str
    at: float  # the time of the first reading after it
    why: str
    refs: tuple[Ref, ...]
    between: tuple[str, str] = ("", "")  # the two states seen around it, e.g. PRE_COPY, STOP

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "state": self.state,
            "at": round(self.at, 3),
            "inferred": True,
            "why": self.why,
            "from": [r.to_json() for r in self.refs],
        }


@dataclass(frozen=True)
class Boundary:
    name: str  # "start", "vm-stop", "source-stopped", "destination-running"
    at: float
    inferred: bool


@dataclass(frozen=True)
class Phases:
    boundaries: tuple[Boundary, ...] = ()
    current: str | None = None  # the phase an ongoing migration is in
    current_for: float | None = None  # seconds in it so far
    data_sizes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    inferred: tuple[InferredState, ...] = ()

    def _at(self, name: str) -> Boundary | None:
        return next((b for b in self.boundaries if b.name == name), None)

    def _span(self, first: str, last: str) -> float | None:
        a, b = self._at(first), self._at(last)
        return None if a is None or b is None else b.at - a.at

    @property
    def pre_copy(self) -> float | None:
        return self._span("start", "vm-stop")

    @property
    def stop_copy(self) -> float | None:
        return self._span("vm-stop", "source-stopped")

    @property
    def resume(self) -> float | None:
        return self._span("source-stopped", "destination-running")

    @property
    def total(self) -> float | None:
        return self._span("start", "destination-running")

    def to_json(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "pre_copy": r(self.pre_copy),
            "stop_copy": r(self.stop_copy),
            "resume": r(self.resume),
            "total": r(self.total),
            "boundaries": [
                {"name": b.name, "at": round(b.at, 3), "inferred": b.inferred}
                for b in self.boundaries
            ],
            "current": self.current,
            "current_for": r(self.current_for),
            "data_sizes": {side: dict(sizes) for side, sizes in self.data_sizes.items()},
            "inferred_states": [s.to_json() for s in self.inferred],
        }


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    cause: Cause | None
    where: Where
    summary: str
    evidence: tuple[Evidence, ...]
    next_steps: tuple[str, ...]
    phases: Phases

    @property
    def ended(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STUCK)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "cause": None if self.cause is None else self.cause.value,
            "where": self.where.to_json(),
            "summary": self.summary,
            "evidence": [e.to_json() for e in self.evidence],
            "next": list(self.next_steps),
            "phases": self.phases.to_json(),
        }

    def lines(self) -> list[str]:
        """The verdict for a person, as plain lines (host text is the caller's to escape)."""
        head = self.outcome.value.upper()
        if self.cause is not None:
            head += f" ({self.cause.value})"
        out = [f"verdict: {head}", f"  {self.summary}"]
        where = self.where.words()
        if where:
            out.append(f"  where: {where}")
        p = self.phases
        spans = [
            (label, value)
            for label, value in (
                ("pre-copy", p.pre_copy),
                ("stop-copy", p.stop_copy),
                ("resume", p.resume),
                ("total", p.total),
            )
            if value is not None
        ]
        if spans:
            inferred = [b.name for b in p.boundaries if b.inferred]
            note = f" (inferred: {', '.join(inferred)})" if inferred else ""
            out.append("  phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in spans) + note)
        if p.current is not None and p.current_for is not None:
            out.append(f"  now in: {p.current} for {p.current_for:.2f} s")
        for side, sizes in p.data_sizes.items():
            for path, size in sizes.items():
                out.append(f"  data: {side} {path} {size} bytes")
        for state in p.inferred:
            out.append(f"  inferred: {state.side} {state.state} ({state.why})")
        if self.evidence:
            out.append("evidence:")
            out += [f"  - {e.text}" for e in self.evidence]
        if self.next_steps:
            out.append("next:")
            out += [f"  - {step}" for step in self.next_steps]
        return out


# --- the analysis -----------------------------------------------------------------------------

_PRE_STOP_COPY = frozenset({"PRE_COPY", "PRE_COPY_P2P", "RUNNING_P2P", "Invalid"})
_SOURCE_MOVED = frozenset(
    {"PRE_COPY", "PRE_COPY_P2P", "STOP_COPY", "RUNNING_P2P", "STOP", "Invalid"}
)
_VM_STOP = frozenset({"PRE_COPY_P2P", "RUNNING_P2P", "STOP_COPY", "STOP"})
_DST_LOADED = frozenset({"STOP", "RUNNING_P2P", "RUNNING"})


def _ref(reading: Reading) -> Ref:
    return Ref("reading", reading.index, reading.side, reading.at, reading.path)


def _label(result: FileResult) -> str:
    """A state reading as a label: the state's name, or `(kind)` of the error."""
    if result.error is not None:
        return f"({result.error.kind.value})"
    assert result.data is not None
    try:
        return parse_state(result.data).label
    except FormatError:
        return f"({ReadErrorKind.MALFORMED.value})"


@dataclass
class _Side:
    """One side's readings, ordered on the shared clock."""

    name: str
    states: list[tuple[str, Reading]]  # changes only
    latest: dict[str, Reading]
    paths: set[str]

    @property
    def current(self) -> tuple[str, Reading] | None:
        return self.states[-1] if self.states else None

    def readable(self) -> list[tuple[str, Reading]]:
        return [(label, r) for label, r in self.states if not label.startswith("(")]

    def last_readable(self) -> tuple[str, Reading] | None:
        seen = self.readable()
        return seen[-1] if seen else None

    def seen(self, labels: frozenset[str] | set[str]) -> bool:
        return any(label in labels for label, _ in self.states)

    def first(
        self, labels: frozenset[str] | set[str], after: float = float("-inf")
    ) -> Reading | None:
        return next((r for label, r in self.states if label in labels and r.at >= after), None)

    @property
    def layout(self) -> Layout:
        return detect_layout(self.paths)

    @property
    def hisi(self) -> bool:
        return self.layout in (Layout.HISI_2023, Layout.HISI_MAINLINE)

    def layout_file(self) -> str | None:
        kind = self.layout.data_file
        return kind.path if kind is not None else None

    def parsed(self, kind: FileKind) -> tuple[object, Reading] | None:
        reading = self.latest.get(kind.path)
        if reading is None or reading.result.data is None:
            return None
        try:
            return parse_file(kind, reading.result.data), reading
        except FormatError:
            return None

    def migrated_data(self) -> tuple[bytes, int, Reading] | None:
        """The last migrated/saved data this side shows: (bytes shown, real length, reading)."""
        migf = self.parsed(FileKind.MIGF_DATA)
        if migf is not None and isinstance(migf[0], MigfDataFile):
            return migf[0].dump, migf[0].length, migf[1]
        data = self.parsed(FileKind.DATA)
        if data is not None and isinstance(data[0], DataFile) and data[0].dump is not None:
            attr = self.parsed(FileKind.ATTR)
            length = ACC_VF_DATA_SIZE
            if attr is not None and isinstance(attr[0], AttrFile) and attr[0].size is not None:
                length = attr[0].size
            return data[0].dump[:length], length, data[1]
        return None

    def data_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        migf = self.parsed(FileKind.MIGF_DATA)
        if migf is not None and isinstance(migf[0], MigfDataFile):
            sizes[FileKind.MIGF_DATA.path] = migf[0].length
        attr = self.parsed(FileKind.ATTR)
        if attr is not None and isinstance(attr[0], AttrFile) and attr[0].size is not None:
            sizes[FileKind.ATTR.path] = attr[0].size
        return sizes


def _sides(facts: Facts) -> dict[str, _Side]:
    ordered = sorted(facts.readings, key=lambda r: (r.at, r.index))
    sides = {name: _Side(name, [], {}, set()) for name in SIDES}
    for reading in ordered:
        side = sides.get(reading.side)
        if side is None:
            continue
        if reading.result.error is None or reading.result.error.kind not in (
            ReadErrorKind.NOT_FOUND,
            ReadErrorKind.HOST_UNREACHABLE,
        ):
            side.paths.add(reading.path)
        side.latest[reading.path] = reading
        if reading.path == FileKind.STATE.path:
            label = _label(reading.result)
            if not side.states or side.states[-1][0] != label:
                side.states.append((label, reading))
    return sides


def _at(seconds: float) -> str:
    return f"{seconds:.2f} s"


class _Judge:
    def __init__(self, facts: Facts, stuck_after: float) -> None:
        self.facts = facts
        self.stuck_after = stuck_after
        self.sides = _sides(facts)
        self.src = self.sides[SOURCE]
        self.dst = self.sides[DESTINATION]
        self.evidence: list[Evidence] = []

    def note(self, text: str, *readings: Reading) -> None:
        self.evidence.append(Evidence(text, tuple(_ref(r) for r in readings)))

    def note_state(self, side: _Side, label: str, reading: Reading) -> None:
        if label.startswith("("):
            error = reading.result.error
            words = str(error) if error is not None else "not a state name"
            self.note(f"{side.name} state unreadable at {_at(reading.at)}: {words}", reading)
        else:
            self.note(f"{side.name} state {label} at {_at(reading.at)}", reading)

    def verdict(
        self,
        outcome: Outcome,
        cause: Cause | None,
        where: Where,
        summary: str,
        extra_next: Sequence[str] = (),
    ) -> Verdict:
        steps = list(extra_next)
        if cause is not None:
            steps += [s for s in CAUSES[cause].next_steps if s not in steps]
        phases = self.phases()
        if outcome in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.STUCK):
            phases = replace(phases, current=None, current_for=None)  # no phase goes on
        return Verdict(outcome, cause, where, summary, tuple(self.evidence), tuple(steps), phases)

    # --- inferred states and phases ----------------------------------------------------

    def inferred(self) -> list[InferredState]:
        found = []
        for side, before, after, missing, why in (
            (self.src, _PRE_STOP_COPY, {"STOP"}, "STOP_COPY", "QEMU reads the final data there"),
            (
                self.dst,
                {"RESUMING"},
                {"RUNNING_P2P", "RUNNING"},
                "STOP",
                "the kernel loads the data at RESUMING -> STOP",
            ),
        ):
            states = side.readable()
            for (a, ra), (b, rb) in itertools.pairwise(states):
                if a in before and b in after:
                    text = f"{a} -> {b} must have passed {missing}: {why}"
                    found.append(
                        InferredState(side.name, missing, rb.at, text, (_ref(ra), _ref(rb)), (a, b))
                    )
        return found

    def phases(self) -> Phases:
        src, dst = self.src, self.dst
        inferred = self.inferred()
        bounds: list[Boundary] = []
        start = src.first(_SOURCE_MOVED)
        if start is not None:
            label = next(lbl for lbl, r in src.states if r is start)
            bounds.append(Boundary("start", start.at, label not in ("PRE_COPY", "Invalid")))
            stop = src.first(_VM_STOP, after=start.at)
            inferred_sc = next((s for s in inferred if s.side == SOURCE), None)
            if stop is not None:
                label = next(lbl for lbl, r in src.states if r is stop)
                bounds.append(
                    Boundary("vm-stop", stop.at, label == "STOP" and inferred_sc is not None)
                )
                done = next(
                    (
                        r
                        for lbl, r in src.states
                        if lbl == "STOP"
                        and r.at >= stop.at
                        and (src.seen({"STOP_COPY"}) or inferred_sc is not None)
                    ),
                    None,
                )
                if done is not None:
                    bounds.append(Boundary("source-stopped", done.at, False))
                    resumed = dst.first({"RESUMING"})
                    running = dst.first(
                        {"RUNNING"}, after=resumed.at if resumed is not None else start.at
                    )
                    if running is not None:
                        bounds.append(Boundary("destination-running", running.at, False))
        # Polls on two hosts may see a later boundary first: keep them in order.
        ordered: list[Boundary] = []
        for b in bounds:
            at = max(b.at, ordered[-1].at) if ordered else b.at
            ordered.append(Boundary(b.name, at, b.inferred))
        current, since = self.current_phase(ordered)
        sizes = {side.name: side.data_sizes() for side in (src, dst) if side.data_sizes()}
        return Phases(tuple(ordered), current, since, sizes, tuple(inferred))

    def current_phase(self, bounds: list[Boundary]) -> tuple[str | None, float | None]:
        names = [b.name for b in bounds]
        if not names or "destination-running" in names:
            return None, None
        phase = {"start": "pre-copy", "vm-stop": "stop-copy", "source-stopped": "resume"}[names[-1]]
        return phase, max(0.0, self.facts.now - bounds[-1].at)

    # --- the rules ---------------------------------------------------------------------

    def judge(self) -> Verdict:
        src, dst = self.src, self.dst
        if src.current is None and dst.current is None:
            return self.verdict(
                Outcome.NOT_STARTED, None, Where(), "nothing has been read from either host yet"
            )
        for side in (src, dst):
            problem = self.unreadable(side)
            if problem is not None:
                return problem
        sc, sr = src.current or ("(none)", None)
        dc, dr = dst.current or ("(none)", None)
        src_moved = src.seen(_SOURCE_MOVED)
        dst_resumed = dst.seen({"RESUMING"})
        started = src_moved or dst_resumed
        for side, label, reading in ((src, sc, sr), (dst, dc, dr)):
            if reading is not None:
                self.note_state(side, label, reading)
        # A device in ERROR after it took part (hisi_acc reads ERROR until first opened).
        if dr is not None and dc == "ERROR" and dst.seen({"RUNNING", "RESUMING", "STOP"}):
            return self.verdict(
                Outcome.FAILED,
                Cause.DESTINATION_ERROR,
                Where(DESTINATION, self.transition(dst), at=dr.at),
                "the destination device is in ERROR: it failed while taking the migration",
            )
        if sr is not None and sc == "ERROR" and started:
            return self.verdict(
                Outcome.FAILED,
                Cause.SOURCE_ERROR,
                Where(SOURCE, self.transition(src), at=sr.at),
                "the source device is in ERROR after the migration started",
            )
        if not started:
            return self.verdict(
                Outcome.NOT_STARTED,
                None,
                Where(),
                f"no migration seen yet: source {sc}, destination {dc}",
            )
        dst_loaded = dc in _DST_LOADED and (dst_resumed or sc == "STOP")
        if dst_loaded and sc == "RUNNING":
            assert dr is not None and sr is not None
            return self.verdict(
                Outcome.FAILED,
                Cause.BOTH_RUNNING,
                Where(None, "both RUNNING", at=max(sr.at, dr.at)),
                "both devices are RUNNING after the destination loaded the data: the guest "
                "may be running on both hosts",
            )
        if dst_loaded and dc == "RUNNING" and sc == "STOP":
            return self.succeeded()
        # QEMU sets the destination to RESUMING only once the source's save has begun, so a
        # source RUNNING beside a RESUMING destination, holding data of a save, came back.
        came_back = src_moved or (dc == "RESUMING" and src.migrated_data() is not None)
        if sc == "RUNNING" and came_back and not dst_loaded:
            return self.source_resumed()
        return self.in_progress()

    def transition(self, side: _Side) -> str | None:
        states = [label for label, _ in side.states]
        if len(states) < 2:
            return states[-1] if states else None
        return f"{states[-2]} -> {states[-1]}"

    def unreadable(self, side: _Side) -> Verdict | None:
        current = side.current
        if current is None or not current[0].startswith("("):
            return None
        label, reading = current
        error = reading.result.error
        kind = error.kind if error is not None else ReadErrorKind.MALFORMED
        last = side.last_readable()
        self.note_state(side, label, reading)
        if last is not None:
            self.note(f"{side.name} last read state {last[0]} at {_at(last[1].at)}", last[1])
        was = f" (last seen {last[0]})" if last is not None else ""
        if kind is ReadErrorKind.HOST_UNREACHABLE:
            return self.verdict(
                Outcome.UNKNOWN,
                Cause.HOST_UNREACHABLE,
                Where(side.name, file=FileKind.STATE.path, at=reading.at),
                f"the {side.name} host cannot be reached{was}: {error}",
            )
        if kind is ReadErrorKind.NOT_FOUND and last is not None:
            return self.verdict(
                Outcome.FAILED,
                Cause.DEVICE_UNPLUG,
                Where(side.name, f"{last[0]} -> (gone)", at=reading.at),
                f"the {side.name} device's debugfs directory vanished{was}: the VF was "
                "unbound or removed during the migration",
            )
        if kind is ReadErrorKind.TIMED_OUT:
            return self.blocked(side, reading, last)
        return self.verdict(
            Outcome.UNKNOWN,
            Cause.STATE_UNREADABLE,
            Where(side.name, file=FileKind.STATE.path, at=reading.at),
            f"the {side.name} `state` file cannot be read{was}: {error or 'not a state name'}",
        )

    def blocked(self, side: _Side, reading: Reading, last: tuple[str, Reading] | None) -> Verdict:
        """A `state` read that blocks: stuck once it has blocked for `stuck_after` seconds."""
        verdict = self._blocked(side, reading, last)
        blocked_for = self.facts.now - reading.at
        if blocked_for >= self.stuck_after:
            return verdict
        return Verdict(
            Outcome.IN_PROGRESS,
            verdict.cause,
            verdict.where,
            f"{verdict.summary} (blocked for {blocked_for:.1f} s so far; stuck after "
            f"{self.stuck_after:g} s)",
            verdict.evidence,
            verdict.next_steps,
            verdict.phases,
        )

    def _blocked(self, side: _Side, reading: Reading, last: tuple[str, Reading] | None) -> Verdict:
        was = last[0] if last is not None else None
        # Blocked while saving: after leaving RUNNING, or while the destination waits for data.
        saving = was in _PRE_STOP_COPY | {"STOP_COPY", "STOP"} or self.dst.seen({"RESUMING"})
        if side.name == SOURCE and saving:
            restarted = [
                q
                for q in self.facts.qmp
                if q.side == SOURCE
                and q.name == "MIGRATION"
                and q.data.get("status") == "setup"
                and last is not None
                and q.at >= last[1].at
            ]
            if was == "STOP_COPY" and restarted:
                q = restarted[0]
                self.evidence.append(
                    Evidence(
                        f"QMP on the source: migration set up again at {_at(q.at)}",
                        (Ref("qmp", q.index, q.side, q.at, q.name),),
                    )
                )
                return self.verdict(
                    Outcome.STUCK,
                    Cause.PRECOPY_HANG,
                    Where(SOURCE, "STOP_COPY -> PRE_COPY", at=reading.at),
                    "the source's state read blocks after STOP_COPY and the migration was "
                    "restarted: the kernel loops on PRE_COPY from STOP_COPY",
                )
            where = "STOP_COPY" if was == "STOP_COPY" else f"{was or '?'} -> STOP_COPY"
            return self.verdict(
                Outcome.STUCK,
                Cause.HUNG_SAVE,
                Where(SOURCE, where, at=reading.at),
                "the source's `state` read blocks while saving the device state "
                f"(last seen {was or 'nothing'}): the driver holds its state mutex; the "
                "save does not finish",
            )
        return self.verdict(
            Outcome.STUCK,
            Cause.STATE_UNREADABLE,
            Where(side.name, file=FileKind.STATE.path, at=reading.at),
            f"the {side.name}'s `state` read blocks (last seen {was or 'nothing'}): the driver "
            "holds its state mutex",
        )

    def compare_data(self) -> tuple[bool | None, list[str]]:
        """Whether both sides' migrated data agree (None: not both known), and what differs."""
        a, b = self.src.migrated_data(), self.dst.migrated_data()
        if a is None or b is None:
            return None, []
        if a[0] == b[0] and a[1] == b[1]:
            self.note(
                f"source and destination migration data are identical ({a[1]} bytes)", a[2], b[2]
            )
            return True, []
        differing = [
            spec.name for spec in acc_fields_for(a[0]) if spec.words(a[0]) != spec.words(b[0])
        ]
        self.note(
            f"source and destination migration data differ (lengths {a[1]} and {b[1]}"
            + (f"; fields: {', '.join(differing)}" if differing else "")
            + ")",
            a[2],
            b[2],
        )
        return False, differing

    def guest_not_ready(self, side: _Side) -> Reading | None:
        """The side's data says only match data moved because the guest driver is not loaded."""
        attr = side.parsed(FileKind.ATTR)
        if (
            attr is not None
            and isinstance(attr[0], AttrFile)
            and attr[0].ready == QM_NOT_READY
            and attr[0].size == QM_MATCH_SIZE
        ):
            return attr[1]
        data = side.migrated_data()
        if (
            data is not None
            and data[1] == QM_MATCH_SIZE
            and int.from_bytes(data[0][0x18:0x1C], "little") == QM_NOT_READY
        ):
            return data[2]
        return None

    def succeeded(self) -> Verdict:
        same, differing = self.compare_data()
        where = Where(DESTINATION, self.transition(self.dst), at=self.dst.states[-1][1].at)
        if same is False:
            fields = f" ({', '.join(differing)})" if differing else ""
            return self.verdict(
                Outcome.FAILED,
                Cause.CORRUPT_TRANSFER,
                Where(None, file=self.dst.layout_file(), at=where.at),
                "the migration completed, but the device state differs between the two "
                f"sides{fields}: the destination runs with other data than the source saved",
            )
        for side in (self.src, self.dst):
            reading = self.guest_not_ready(side)
            if reading is not None:
                self.note(
                    f"{side.name}: only the {QM_MATCH_SIZE}-byte match data migrated; "
                    "vf_qm_state 1 = the guest driver is NOT loaded",
                    reading,
                )
                return self.verdict(
                    Outcome.SUCCEEDED,
                    Cause.GUEST_DRIVER_NOT_LOADED,
                    Where(side.name, file=reading.path, at=reading.at),
                    "the migration succeeded, but only the match data moved: the guest "
                    "driver of the VF was not loaded, so no queue state was carried",
                )
        extra = ""
        if same is None and not (self.src.hisi or self.dst.hisi):
            extra = " (this driver shows no migration data to compare)"
        return self.verdict(
            Outcome.SUCCEEDED,
            None,
            where,
            "the migration succeeded: the source stopped and the destination runs" + extra,
        )

    def source_resumed(self) -> Verdict:
        src, dst = self.src, self.dst
        _sc, sr = src.states[-1]
        moved = [label for label, _ in src.readable() if label in _SOURCE_MOVED]
        dc = dst.last_readable()
        dst_waiting = dc is not None and dc[0] == "RESUMING"
        src_data = src.migrated_data()
        full_save = src.seen({"STOP_COPY"}) or (
            src_data is not None
            and (src_data[1] >= ACC_VF_DATA_SIZE or self.guest_not_ready(src) is not None)
        )
        last_moved = moved[-1] if moved else "?"
        where_back = Where(SOURCE, f"{last_moved} -> RUNNING", at=sr.at)
        if src.hisi and dst_waiting and full_save:
            assert dc is not None
            got = dst.migrated_data()
            self.note(f"destination stays in RESUMING since {_at(dc[1].at)}", dc[1])
            if got is not None:
                self.note(f"the destination received {got[1]} bytes of migration data", got[2])
            if src_data is not None:
                self.note(f"the source saved {src_data[1]} bytes", src_data[2])
            extra = []
            if got is not None and len(got[0]) >= 0x10:
                dev_id = int.from_bytes(got[0][0x0C:0x10], "little")
                name = ACC_DEVICE_NAMES.get(dev_id, "unknown VF")
                extra.append(
                    f"the data is for dev_id {dev_id:#06x} ({name}): check the destination "
                    "VF is the same kind"
                )
            return self.verdict(
                Outcome.FAILED,
                Cause.MATCH_MISMATCH,
                Where(DESTINATION, "RESUMING -> STOP", at=sr.at),
                "the destination refused the source's data when loading it (RESUMING -> STOP "
                "failed): the match header does not fit the destination VF; the source "
                "went back to RUNNING",
                extra,
            )
        match_only = src_data is not None and src_data[1] == QM_MATCH_SIZE
        if src.hisi and not full_save and ("PRE_COPY" in moved or match_only):
            mailbox = self.mailbox_facts()
            if mailbox is not False:
                if src_data is not None:
                    self.note(
                        f"the source's data holds only {src_data[1]} bytes: pre-copy, no STOP_COPY",
                        src_data[2],
                    )
                return self.verdict(
                    Outcome.FAILED,
                    Cause.MAILBOX_NOT_READY,
                    Where(SOURCE, "PRE_COPY -> STOP_COPY", at=sr.at),
                    "the source could not stop the VF (PRE_COPY -> STOP_COPY failed, back to "
                    "RUNNING): on hisi_acc that is the mailbox not answering"
                    + (" (confirmed by io_test / cmd_state)" if mailbox else ""),
                )
        if dst_waiting:
            assert dc is not None
            self.note(f"destination stays in RESUMING since {_at(dc[1].at)}", dc[1])
        return self.verdict(
            Outcome.FAILED,
            Cause.SOURCE_RESUMED,
            where_back,
            f"the source went back to RUNNING from {last_moved}; the destination "
            f"{'never loaded the data' if dst_waiting else 'did not take over'}; "
            "debugfs does not say why",
        )

    def mailbox_facts(self) -> bool | None:
        """What actions say of the source's mailbox: True not ready, False fine, None unknown."""
        verdict: bool | None = None
        for fact in sorted(self.facts.actions, key=lambda a: (a.at, a.index)):
            if fact.side != SOURCE:
                continue
            ref = Ref("action", fact.index, fact.side, fact.at, fact.path)
            result = fact.result
            if fact.path == FileKind.CMD_STATE.path:
                if result.error is not None and result.error.errno_name == "EINVAL":
                    verdict = True
                    self.evidence.append(Evidence("source cmd_state failed with EINVAL", (ref,)))
                elif result.data is not None:
                    verdict = False
                    self.evidence.append(Evidence("source cmd_state: mailbox ready", (ref,)))
            elif fact.path == FileKind.IO_TEST.path and result.data is not None:
                try:
                    parsed = parse_file(FileKind.IO_TEST, result.data)
                except FormatError:
                    continue
                if isinstance(parsed, IoTestFile) and parsed.mailbox is not None:
                    verdict = parsed.mailbox == MAILBOX_NOT_READY
                    self.evidence.append(
                        Evidence(f"source io_test: mailbox {parsed.mailbox:#x}", (ref,))
                    )
            elif fact.path == FileKind.SAVE.path and result.data is not None:
                try:
                    saved = parse_file(FileKind.SAVE, result.data)
                except FormatError:
                    continue
                if isinstance(saved, SaveFile) and not saved.saved:
                    self.evidence.append(Evidence("source save failed", (ref,)))
        return verdict

    def in_progress(self) -> Verdict:
        src, dst = self.src, self.dst
        phases = self.phases()
        latest = max(r.at for side in (src, dst) for _, r in side.states)
        quiet = self.facts.now - latest
        phase = phases.current or "setup"
        side = dst if phase in ("resume", "setup") and dst.states else src
        label, reading = side.states[-1]
        where = Where(side.name, label, at=reading.at)
        if quiet >= self.stuck_after:
            sc = src.states[-1][0] if src.states else "?"
            dc = dst.states[-1][0] if dst.states else "?"
            why = "the facts name no cause"
            if sc == "RUNNING" and dc == "RESUMING" and not src.seen(_SOURCE_MOVED):
                # Seen on a real 6.12 (harness/LAB.md): a refused mtty header ends a
                # 0.2 s pre-copy that a 0.2 s poll can miss; the QEMU that exited leaves
                # its mtty in RESUMING. A device without pre-copy looks the same while
                # RAM is still being copied, so this stays unknown.
                why = (
                    "the destination waits in RESUMING while the source was never seen "
                    "leaving RUNNING: either the source came back to RUNNING from a "
                    "pre-copy shorter than the poll interval (the migration failed; the "
                    "destination's QEMU may have exited), or its device has no pre-copy "
                    "and guest RAM is still being copied"
                )
            return self.verdict(
                Outcome.STUCK,
                Cause.UNKNOWN,
                where,
                f"no state change on either host for {quiet:.1f} s during {phase} "
                f"(source {sc}, destination {dc}); {why}",
            )
        return self.verdict(
            Outcome.IN_PROGRESS,
            None,
            where,
            f"migrating: {phase}"
            + (f" for {phases.current_for:.2f} s" if phases.current_for is not None else ""),
        )


def judge(facts: Facts, stuck_after: float = DEFAULT_STUCK_AFTER) -> Verdict:
    """The verdict the facts support. Same facts, same verdict."""
    return _Judge(facts, stuck_after).judge()
