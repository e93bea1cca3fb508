"""Captures: migration data kept on disk the moment it is seen.

Every save, every change of a data file's content, and every file a person
asks to keep becomes a capture: the bytes, where and when they were taken,
and the state of both sides at that moment. Each capture is three files
written atomically (temporary name, fsync, rename), the metadata last, so an
interrupted write leaves no half capture and a crash of the app loses nothing
already captured; a write that fails (disk full) removes what it wrote. Data is
read back lazily: a capture can be hundreds of MB.

A capture's metadata is read as untrusted input: a damaged or hostile .json is
skipped, never a crash, and a capture's `id` must be its own file name, so it
never names a file outside its directory. A session's captures have a budget
(DEFAULT_BUDGET): past it, the oldest are removed, keeping the first and the
newest, and the store says so once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPTURE_SCHEMA = 1
_ID = re.compile(r"\d{8}T\d{6}-\d{3}-(?:source|destination)-[a-z0-9_]{1,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEXT_LIMIT = 4096  # no field of a capture's metadata is longer than this
# 100 MiB per session: about 50,000 hisi_acc captures (each some 2 KiB with its hex
# dump and metadata), hours of a data file that changes on every poll, while a
# device whose data changes without end cannot fill the disk.
DEFAULT_BUDGET = 100 * 1024 * 1024


def human_size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


class CaptureError(ValueError):
    """Capture metadata that is not what this program writes."""


def default_capture_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vfio-tui" / "captures"


@dataclass(frozen=True)
class Capture:
    """One kept piece of migration data. `data()` reads the bytes from disk."""

    id: str
    side: str  # "source" / "destination"
    host: str  # host URL (no secrets: URLs carry none)
    device: str
    file: str  # the debugfs file, e.g. "hisi_acc/migf_data"
    kind: str  # what the bytes are: "acc_vf_data", "mtty", "raw"
    reason: str  # "save", "changed", "kept"
    taken_at: float  # wall clock
    clock: float  # seconds on the session's shared clock
    size: int
    sha256: str
    states: Mapping[str, str | None] = field(default_factory=dict)
    directory: Path = Path()

    @property
    def data_path(self) -> Path:
        return self.directory / f"{self.id}.bin"

    @property
    def text_path(self) -> Path:
        return self.directory / f"{self.id}.txt"

    def data(self) -> bytes:
        return self.data_path.read_bytes()

    def text(self) -> str | None:
        """The original text the bytes were decoded from (a kernel hex dump), if any."""
        try:
            return self.text_path.read_text("ascii")
        except FileNotFoundError:
            return None

    @property
    def disk_size(self) -> int:
        """Bytes its files take (what counts against the budget)."""
        total = 0
        for path in (self.data_path, self.text_path, self.directory / f"{self.id}.json"):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    @property
    def label(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.taken_at))
        return f"{self.side} {self.file} {self.reason} {when} ({self.size} B)"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": CAPTURE_SCHEMA,
            "id": self.id,
            "side": self.side,
            "host": self.host,
            "device": self.device,
            "file": self.file,
            "kind": self.kind,
            "reason": self.reason,
            "taken_at": self.taken_at,
            "clock": self.clock,
            "size": self.size,
            "sha256": self.sha256,
            "states": dict(self.states),
        }

    @classmethod
    def from_json(cls, data: object, directory: Path) -> Capture:
        """The capture a .json describes; CaptureError for anything this program never wrote."""
        if not isinstance(data, dict):
            raise CaptureError("not a JSON object")

        def text(key: str, default: str | None = None) -> str:
            value = data.get(key, default)
            if not isinstance(value, str) or len(value) > _TEXT_LIMIT:
                raise CaptureError(f"{key}: not a string of at most {_TEXT_LIMIT} characters")
            return value

        def number(key: str) -> float:
            value = data.get(key)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise CaptureError(f"{key}: not a number")
            if not math.isfinite(value) or not 0 <= value < 1e11:
                raise CaptureError(f"{key}: out of range")
            return float(value)

        capture_id = text("id")
        if _ID.fullmatch(capture_id) is None:  # an id names a file in this directory only
            raise CaptureError(f"id: {capture_id[:80]!r} is not a capture id")
        side = text("side")
        if side not in ("source", "destination"):
            raise CaptureError("side: neither source nor destination")
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CaptureError("size: not a byte count")
        sha256 = text("sha256")
        if _SHA256.fullmatch(sha256) is None:
            raise CaptureError("sha256: not a SHA-256 in hex")
        states = data.get("states", {})
        if not isinstance(states, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) and len(k + (v or "")) < 256
            for k, v in states.items()
        ):
            raise CaptureError("states: not a table of side = state")
        return cls(
            id=capture_id,
            side=side,
            host=text("host"),
            device=text("device"),
            file=text("file"),
            kind=text("kind", "raw"),
            reason=text("reason"),
            taken_at=number("taken_at"),
            clock=number("clock"),
            size=size,
            sha256=sha256,
            states=dict(states),
            directory=directory,
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a crash leaves the old file or the new.

    A write that fails (disk full, file too large) removes its temporary file.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class CaptureStore:
    """A directory of captures (one per session by default), within a budget of bytes."""

    def __init__(
        self,
        directory: Path,
        now: Callable[[], float] = time.time,
        budget: int = DEFAULT_BUDGET,
    ) -> None:
        self.directory = directory
        self.now = now
        self.budget = budget
        self._counter = 0
        self._kept: list[tuple[str, int]] | None = None  # (id, bytes on disk), oldest first
        self._notice: str | None = None
        self._budget_reached = False

    def take_notice(self) -> str | None:
        """What the store has to tell the user (once): that the budget was reached."""
        notice, self._notice = self._notice, None
        return notice

    def _files(self, capture_id: str) -> list[Path]:
        return [self.directory / f"{capture_id}{suffix}" for suffix in (".json", ".bin", ".txt")]

    def _remove(self, capture_id: str) -> None:
        for path in self._files(capture_id):  # the .json first: the capture is gone at once
            path.unlink(missing_ok=True)

    def _make_room(self, size: int) -> None:
        """Remove the oldest captures (never the first) until `size` more bytes fit."""
        if self._kept is None:
            self._kept = [(c.id, c.disk_size) for c in self.list()]
        used = sum(n for _, n in self._kept)
        first = self._kept[0][1] if self._kept else 0
        if size > self.budget - first and self._kept:
            raise OSError(
                errno.EFBIG,
                f"a capture of {human_size(size)} does not fit the capture budget of "
                f"{human_size(self.budget)}",
            )
        while used + size > self.budget and len(self._kept) > 1:
            capture_id, freed = self._kept.pop(1)
            self._remove(capture_id)
            used -= freed
            if not self._budget_reached:
                self._budget_reached = True
                self._notice = (
                    f"capture budget of {human_size(self.budget)} reached in "
                    f"{self.directory}: the oldest captures are now removed, keeping "
                    "the first and the newest"
                )

    def add(
        self,
        *,
        side: str,
        host: str,
        device: str,
        file: str,
        kind: str,
        reason: str,
        data: bytes,
        text: bytes | None,
        clock: float,
        states: Mapping[str, str | None],
    ) -> Capture:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = self.now()
        self._counter += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        slug = re.sub(r"[^a-z0-9_]", "_", file.rsplit("/", 1)[-1].lower())
        capture_id = f"{stamp}-{self._counter % 1000:03d}-{side}-{slug}"
        capture = Capture(
            id=capture_id,
            side=side,
            host=host,
            device=device,
            file=file,
            kind=kind,
            reason=reason,
            taken_at=now,
            clock=clock,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            states=dict(states),
            directory=self.directory,
        )
        meta = json.dumps(capture.to_json(), indent=2).encode()
        size = len(data) + len(text or b"") + len(meta)
        self._make_room(size)
        try:
            write_atomically(capture.data_path, data)
            if text is not None:
                write_atomically(capture.text_path, text)
            write_atomically(self.directory / f"{capture_id}.json", meta)  # last: complete
        except BaseException:
            self._remove(capture_id)  # no half capture taking space
            raise
        assert self._kept is not None
        self._kept.append((capture_id, size))
        return capture

    def list(self) -> list[Capture]:
        """Every complete capture in the directory, oldest first."""
        found = []
        if not self.directory.is_dir():
            return []
        for meta in sorted(self.directory.glob("*.json")):
            if not _ID.fullmatch(meta.stem):
                continue
            try:
                capture = Capture.from_json(json.loads(meta.read_bytes()), self.directory)
                if capture.id != meta.stem:
                    continue  # a capture is the file it is named by, nothing else
                if capture.data_path.is_file():
                    found.append(capture)
            except (OSError, ValueError, RecursionError):
                continue  # not ours, or damaged: never crash over it
        return sorted(found, key=lambda c: (c.taken_at, c.id))
