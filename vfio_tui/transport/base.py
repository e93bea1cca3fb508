"""One protocol for every host: list devices, read files in one go, trigger an action.

A transport never raises from read_files(): each file comes back as bytes or a
typed ReadError, and a host that cannot be reached makes every file a
HOST_UNREACHABLE error while the transport reports its link state (connecting,
connected, retrying in N s, failed). Pure reads and actions are kept apart at
this boundary: read_files() refuses action files, trigger() accepts only them,
so polling can never make a device do something.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import errno
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from vfio_tui.model.hosturl import HostUrl, valid_device
from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import DeviceSnapshot, FileResult, ReadError, ReadErrorKind

DEFAULT_READ_TIMEOUT = 2.0  # seconds a single file read may block before it counts as hung
MAX_FILE_BYTES = 1 << 20  # debugfs files are small; anything larger is refused as malformed


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RETRYING = "retrying"
    FAILED = "failed"  # needs a person: host key, authentication, sudo rule
    CLOSED = "closed"


@dataclass(frozen=True)
class HostStatus:
    state: LinkState = LinkState.CONNECTING
    message: str = ""
    retry_at: float | None = None  # time.monotonic() of the next attempt
    last_good_read: float | None = None  # time.time() of the last complete read

    def describe(self, now: float | None = None) -> str:
        """The link in words: `connected`, `retrying in 4 s: connection refused`..."""
        now = time.monotonic() if now is None else now
        if self.state is LinkState.RETRYING and self.retry_at is not None:
            wait = max(0, round(self.retry_at - now))
            text = f"retrying in {wait} s"
        else:
            text = self.state.value
        return f"{text}: {self.message}" if self.message else text


class HostError(Exception):
    """The host as a whole cannot be used (unreachable, refused, no such device)."""

    def __init__(self, kind: ReadErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def as_read_error(self) -> ReadError:
        return ReadError(self.kind, self.message)


class DeviceChoiceError(HostError):
    """No device was named and the host has none or several migratable devices."""

    def __init__(
        self,
        url: HostUrl,
        devices: Sequence[str],
        wanted: str | None = None,
        refused: Sequence[str] = (),
    ) -> None:
        if wanted is not None:
            listed = ", ".join(devices) or "none"
            message = f"{url.label} has no migratable device {wanted} (it has: {listed})"
        elif not devices:
            message = f"{url.label} has no migratable VFIO device under {url.device_root}"
        else:
            message = (
                f"{url.label} has {len(devices)} migratable devices; pick one with "
                f"#DEVICE: " + ", ".join(f"{url.without_device}#{d}" for d in devices)
            )
        if refused:
            # Raw, like every host text in an error: the display escapes it.
            names = ", ".join(f"'{name}'" for name in refused)
            message += (
                f"; vfio-tui refuses {len(refused)} device name(s) it cannot use safely "
                f"(only letters, digits and . : _ + - are accepted): {names}"
            )
        super().__init__(ReadErrorKind.NOT_FOUND, message)
        self.devices = list(devices)
        self.refused = list(refused)


@dataclass(frozen=True)
class FaultInfo:
    """A fault a simulated migration can be given: its name and one line about it."""

    name: str
    summary: str


@dataclass(frozen=True)
class SimNote:
    """One line of a simulated migration's narration (what QEMU or the simulator did)."""

    at: float  # seconds since that migration started
    actor: str  # "source", "destination" or "simulator"
    text: str


@dataclass(frozen=True)
class SimStart:
    """What asking for a simulated migration did: started, or why not (in words)."""

    started: bool
    message: str


class SimulatorControls(Protocol):
    """What only a simulated host can do: start a migration with a fault, and narrate it.

    A host offers it through HostTransport.simulator(); real hosts return None, and
    nothing that judges a migration may use it: the narration is for people only.
    """

    def faults(self) -> list[FaultInfo]:
        """The faults a migration can be given, `clean` first."""
        ...

    async def migrate(
        self, device: str, fault: str, narrate: Callable[[SimNote], None] | None = None
    ) -> SimStart:
        """Start migrating `device` from the simulated source to the destination with
        `fault`; says whether it started, or why not."""
        ...

    async def wait_until_done(self, device: str, seconds: float) -> bool:
        """Wait up to `seconds` for the migration of `device` to end; False if it has not."""
        ...


@dataclass
class TransportOptions:
    """How to reach hosts. The same options serve every transport."""

    sudo: bool = False
    read_timeout: float = DEFAULT_READ_TIMEOUT
    connect_timeout: float = 10.0
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts
    accepted_host_keys: set[str] = field(default_factory=set)  # SHA256 fingerprints
    ssh_config: Sequence[str] = ()  # extra OpenSSH config files (default: ~/.ssh/config)


def check_paths(paths: Iterable[str], *, actions: bool) -> list[str]:
    """Known debugfs files only; pure reads or actions, as asked. ValueError otherwise."""
    checked = []
    for path in paths:
        kind = FileKind.from_path(path)
        if kind is None:
            raise ValueError(f"{path!r} is not a debugfs file vfio-tui knows")
        if kind.is_action != actions:
            what = "an action" if kind.is_action else "a pure read"
            use = "trigger" if kind.is_action else "read_files"
            raise ValueError(f"{path} is {what}; use {use}()")
        checked.append(path)
    return checked


class HostTransport(abc.ABC):
    """How the bytes of one host arrive."""

    def __init__(self, url: HostUrl, options: TransportOptions) -> None:
        self.url = url.without_device
        self.options = options
        self._status = HostStatus()
        self.on_status: Callable[[HostStatus], None] | None = None
        self._refused_devices = False  # FAILED because every device's name was refused

    @property
    def status(self) -> HostStatus:
        return self._status

    def _set_status(
        self, state: LinkState, message: str = "", retry_at: float | None = None
    ) -> None:
        self._status = replace(self._status, state=state, message=message, retry_at=retry_at)
        if self.on_status is not None:
            self.on_status(self._status)

    def _set_connected(self) -> None:
        """The link is up; a host with no device it can watch stays marked failed."""
        if not self._refused_devices:
            self._set_status(LinkState.CONNECTED)

    def _mark_good_read(self) -> None:
        self._status = replace(self._status, last_good_read=time.time())

    def simulator(self) -> SimulatorControls | None:
        """The simulator's controls, on a simulated host only (None everywhere else)."""
        return None

    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect (raises HostError); idempotent."""

    def retry_now(self) -> None:  # noqa: B027 - a no-op where nothing backs off
        """Forget any backoff or failure: the next call tries to connect at once."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def list_devices(self) -> dict[str, list[str]]:
        """Migratable devices (those with `migration/`) and the files under it. Raises HostError."""

    @abc.abstractmethod
    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        """Read these files of one device; the transport's own way."""

    async def read_files(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        """Read pure-read files of `device` in one go; never raises."""
        wanted = check_paths(paths, actions=False)
        if not valid_device(device):
            raise ValueError(f"{device!r} is not a device name")
        return await self._read(device, wanted)

    async def trigger(self, device: str, path: str) -> FileResult:
        """Read an action file (save, io_test, dev_data, cmd_state): the device acts."""
        (wanted,) = check_paths([path], actions=True)
        if not valid_device(device):
            raise ValueError(f"{device!r} is not a device name")
        return (await self._read(device, [wanted]))[wanted]

    async def snapshot(self, device: str, paths: Sequence[str]) -> DeviceSnapshot:
        started = time.monotonic()
        files = await self.read_files(device, paths)
        return DeviceSnapshot(
            host=str(self.url),
            device=device,
            taken_at=time.time(),
            files=files,
            elapsed=time.monotonic() - started,
        )

    async def resolve_device(self, wanted: str | None) -> tuple[str, list[str]]:
        """The device to watch and its files: the one named, or the only one there is.

        A device whose name vfio-tui refuses (control characters, spaces, `..`: never sent
        to a host nor used in a path) is not offered; when that leaves nothing to watch,
        the link is marked failed with the reason, so the pane says it, not `connecting`.
        """
        listed = await self.list_devices()
        devices = {name: files for name, files in listed.items() if valid_device(name)}
        refused = sorted(name for name in listed if name not in devices)
        if wanted is not None and wanted not in devices:
            raise DeviceChoiceError(self.url, sorted(devices), wanted)
        if wanted is None and len(devices) != 1:
            error = DeviceChoiceError(self.url, sorted(devices), refused=refused)
            if refused and not devices:
                self._refused_devices = True
                self._set_status(LinkState.FAILED, error.message)
            raise error
        name = wanted if wanted is not None else next(iter(devices))
        if self._refused_devices:  # a device to watch after all
            self._refused_devices = False
            self._set_status(LinkState.CONNECTED)
        return name, devices[name]


def timed_out(path: str, timeout: float, file_type: str | None = None) -> FileResult:
    """A read still blocked after `timeout`; `file_type` ("a FIFO"...) when the file is not a
    regular file, as debugfs files are: then that, not the driver, is why it blocks."""
    if file_type is not None:
        why = f"{path} is {file_type}, not a regular file as debugfs files are"
    else:
        why = "the driver may hold its state mutex"
    return FileResult(
        path,
        error=ReadError(
            ReadErrorKind.TIMED_OUT, f"the read did not return within {timeout:g} s ({why})"
        ),
    )


def data_result(path: str, data: bytes) -> FileResult:
    """A file's content, unless it is larger than any debugfs file (then MALFORMED)."""
    if len(data) > MAX_FILE_BYTES:
        return FileResult(
            path, error=ReadError(ReadErrorKind.MALFORMED, f"larger than {MAX_FILE_BYTES} bytes")
        )
    return FileResult(path, data=data)


async def read_result(path: str, reading: Awaitable[bytes], seconds: float) -> FileResult:
    """Await one file read: its content, its errno, or TIMED_OUT after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            data = await reading
    except TimeoutError:  # before OSError, of which it is a subclass
        return timed_out(path, seconds)
    except OSError as exc:
        return FileResult(path, error=ReadError.from_errno(exc.errno or errno.EIO))
    return data_result(path, data)


def listing_error(root: str, exc: OSError, hint: str = "") -> HostError:
    """Why the device directory (or a directory below it) could not be listed, as a HostError."""
    kind = ReadError.from_errno(exc.errno or errno.EIO).kind
    where = exc.filename if isinstance(exc.filename, str) else root
    return HostError(kind, f"{where}: {exc.strerror or exc}{hint}")
