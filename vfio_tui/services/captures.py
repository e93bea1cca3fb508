"""Captures: migration data kept on disk the moment it is seen.

Every save, every change of a data file's content, and every file a person
asks to keep becomes a capture: the bytes, where and when they were taken,
and the state of both sides at that moment. Each capture is three files
written atomically (temporary name, fsync, rename), the metadata last, so an
interrupted write leaves no half capture and a crash of the app loses nothing
already captured. Data is read back lazily: a capture can be hundreds of MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPTURE_SCHEMA = 1
_ID = re.compile(r"\d{8}T\d{6}-\d{3}-[a-z]+-[a-z0-9_]+")


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
    def from_json(cls, data: Mapping[str, Any], directory: Path) -> Capture:
        return cls(
            id=str(data["id"]),
            side=str(data["side"]),
            host=str(data["host"]),
            device=str(data["device"]),
            file=str(data["file"]),
            kind=str(data.get("kind", "raw")),
            reason=str(data["reason"]),
            taken_at=float(data["taken_at"]),
            clock=float(data["clock"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            states=dict(data.get("states", {})),
            directory=directory,
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a crash leaves the old file or the new."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class CaptureStore:
    """A directory of captures (one per session by default)."""

    def __init__(self, directory: Path, now: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.now = now
        self._counter = 0

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
        write_atomically(capture.data_path, data)
        if text is not None:
            write_atomically(capture.text_path, text)
        meta = json.dumps(capture.to_json(), indent=2).encode()
        write_atomically(self.directory / f"{capture_id}.json", meta)  # last: marks complete
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
                capture = Capture.from_json(json.loads(meta.read_text()), self.directory)
            except (OSError, ValueError, KeyError):
                continue  # not ours, or damaged: never crash over it
            if capture.data_path.exists():
                found.append(capture)
        return sorted(found, key=lambda c: (c.taken_at, c.id))
