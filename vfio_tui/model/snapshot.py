"""What was read from a device at one moment: immutable values that serialize to JSON.

A FileResult is the bytes of one debugfs file or a typed ReadError (with the
host's own words and, for a device refusal, the kernel's errno). A
DeviceSnapshot gathers a device's files at one time. Recordings, reports and
the snapshot command all use these same values.
"""

from __future__ import annotations

import base64
import binascii
import enum
import errno as errno_module
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vfio_tui.model.layout import FileKind, Layout, detect_layout

if TYPE_CHECKING:
    from vfio_tui.model.formats import FormatError, StateFile


class ReadErrorKind(enum.Enum):
    PERMISSION_DENIED = "permission-denied"
    NOT_FOUND = "not-found"
    TIMED_OUT = "timed-out"
    MALFORMED = "malformed"
    HOST_UNREACHABLE = "host-unreachable"
    DEVICE_ERROR = "device-error"  # the driver refused the read: EAGAIN, EINVAL, EBUSY...


@dataclass(frozen=True)
class ReadError:
    kind: ReadErrorKind
    message: str  # the host's own words where there are some
    errno: int | None = None

    @property
    def errno_name(self) -> str | None:
        return errno_module.errorcode.get(self.errno) if self.errno is not None else None

    def __str__(self) -> str:
        name = f" ({self.errno_name})" if self.errno_name else ""
        return f"{self.message}{name}"

    @classmethod
    def from_errno(cls, code: int, message: str | None = None) -> ReadError:
        """The typed error for an errno a read failed with."""
        text = message or os.strerror(code)
        if code in (errno_module.EACCES, errno_module.EPERM):
            return cls(ReadErrorKind.PERMISSION_DENIED, text, code)
        if code in (errno_module.ENOENT, errno_module.ENOTDIR):
            return cls(ReadErrorKind.NOT_FOUND, text, code)
        if code == errno_module.ETIMEDOUT:
            return cls(ReadErrorKind.TIMED_OUT, text, code)
        return cls(ReadErrorKind.DEVICE_ERROR, text, code)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "message": self.message}
        if self.errno is not None:
            out["errno"] = self.errno_name or self.errno
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReadError:
        code = data.get("errno")
        if isinstance(code, str):
            code = getattr(errno_module, code, None)
        return cls(ReadErrorKind(data["kind"]), str(data["message"]), code)


@dataclass(frozen=True)
class FileResult:
    """One file's outcome: `data` or `error`, never both."""

    path: str  # under migration/, e.g. "hisi_acc/migf_data"
    data: bytes | None = None
    error: ReadError | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.error is None):
            raise ValueError("a FileResult holds data or an error")

    @property
    def ok(self) -> bool:
        return self.data is not None

    @property
    def kind(self) -> FileKind | None:
        return FileKind.from_path(self.path)

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error.to_json()}
        assert self.data is not None
        try:
            return {"text": self.data.decode("ascii")}
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(self.data).decode("ascii")}

    @classmethod
    def from_json(cls, path: str, data: Mapping[str, Any]) -> FileResult:
        if "error" in data:
            return cls(path, error=ReadError.from_json(data["error"]))
        if "text" in data:
            return cls(path, data=str(data["text"]).encode("ascii"))
        try:
            return cls(path, data=base64.b64decode(str(data["base64"]), validate=True))
        except (KeyError, binascii.Error) as exc:
            raise ValueError(f"file {path}: neither text, base64 nor error") from exc


@dataclass(frozen=True)
class DeviceSnapshot:
    """A device's files read at one moment on one host."""

    host: str  # the host URL, without the device
    device: str
    taken_at: float  # wall clock (time.time()) when the read finished
    files: Mapping[str, FileResult] = field(default_factory=dict)
    elapsed: float = 0.0  # how long the read took, seconds

    @property
    def layout(self) -> Layout:
        return detect_layout(self.files)

    def file(self, kind: FileKind) -> FileResult | None:
        return self.files.get(kind.path)

    @property
    def state(self) -> StateFile | None:
        """The parsed `state` file, or None if it could not be read or parsed."""
        from vfio_tui.model.formats import FormatError, parse_state

        result = self.file(FileKind.STATE)
        if result is None or result.data is None:
            return None
        try:
            return parse_state(result.data)
        except FormatError:
            return None

    @property
    def state_name(self) -> str | None:
        """The state's name as read (the kernel's own label, quirks included)."""
        parsed = self.state
        return parsed.label if parsed is not None else None

    def parsed(self, kind: FileKind) -> object | FormatError | None:
        """The parsed content of a file; the FormatError if it is not the kernel's text."""
        from vfio_tui.model.formats import FormatError, parse_file

        result = self.file(kind)
        if result is None or result.data is None:
            return None
        try:
            return parse_file(kind, result.data)
        except FormatError as exc:
            return exc

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "device": self.device,
            "layout": self.layout.value,
            "taken_at": self.taken_at,
            "elapsed": round(self.elapsed, 6),
            "state": self.state_name,
            "files": {path: result.to_json() for path, result in self.files.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceSnapshot:
        files = {
            path: FileResult.from_json(path, value) for path, value in dict(data["files"]).items()
        }
        return cls(
            host=str(data["host"]),
            device=str(data["device"]),
            taken_at=float(data["taken_at"]),
            files=files,
            elapsed=float(data.get("elapsed", 0.0)),
        )
