"""Remote hosts over SSH (asyncssh): one connection and one reader per host.

OpenSSH's client configuration (~/.ssh/config: User, Port, IdentityFile,
ProxyJump), the SSH agent and known_hosts work as with `ssh`. Host keys are
verified; an unknown or changed key is refused with its SHA256 fingerprint
and is accepted only when asked for by that fingerprint. A dropped link, or
any failure that can pass (a slow shell start, a reader that died or garbled
its answer), is retried with backoff; meanwhile every read reports the host
unreachable and the status says when the next attempt is. What only a person
can fix (host key, login, sudo rule) is not retried until retry_now().
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import asyncssh

from vfio_tui.model.hosturl import HostUrl
from vfio_tui.model.snapshot import FileResult, ReadError, ReadErrorKind
from vfio_tui.transport.base import (
    MAX_FILE_BYTES,
    HostError,
    HostTransport,
    LinkState,
    TransportOptions,
    data_result,
    timed_out,
)
from vfio_tui.transport.hostkeys import HostKeyError, HostKeyProblem, known_hosts_line
from vfio_tui.transport.reader_protocol import (
    SCRIPT,
    FileAnswer,
    ProtocolError,
    Record,
    device_listing,
    errno_from_message,
    file_answer,
    list_request,
    parse_record,
    read_request,
)

T = TypeVar("T")

READY_TIMEOUT = 15.0  # slow rc files on the remote side get this long
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
MAX_LINE = 4 * MAX_FILE_BYTES  # base64 of the largest file, with room to spare
KEEPALIVE_INTERVAL = 10.0
KEEPALIVE_COUNT_MAX = 3


def default_known_hosts() -> str:
    return str(Path("~", ".ssh", "known_hosts").expanduser())


def save_host_key(problem: HostKeyProblem) -> None:
    """Append the key to known_hosts (the `always` answer)."""
    path = Path(problem.known_hosts)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a", encoding="ascii") as handle:
        handle.write(problem.key_line + "\n")


class _Client(asyncssh.SSHClient):
    """Accepts a host key that known_hosts lacks only if its fingerprint was accepted."""

    def __init__(self, accepted: set[str]) -> None:
        self.accepted = accepted
        self.offered: tuple[str, int, asyncssh.SSHKey] | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.offered = (host, port, key)
        return key.get_fingerprint("sha256") in self.accepted


class _Reader:
    """The remote `sh -s` running the reader script; one request at a time."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self.process = process
        self.buffer = b""
        self.next_id = 1

    async def line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise ProtocolError(f"an answer line longer than {MAX_LINE} bytes")
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                raise EOFError("the remote reader exited")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    async def wait_ready(self) -> None:
        while True:
            try:
                record = parse_record(await self.line())
            except ProtocolError:
                continue  # before READY nothing is ours: rc-file noise that looks like it
            if record is not None and record.kind == "READY":
                return

    async def request(self, make: Callable[[int], bytes]) -> list[Record]:
        request_id = self.next_id
        self.next_id += 1
        payload = make(request_id)
        self.process.stdin.write(payload)
        records: list[Record] = []
        while True:
            record = parse_record(await self.line())
            if record is None or record.request != request_id:
                continue  # rc-file noise, or a late answer from an abandoned read
            if record.kind == "END":
                return records
            records.append(record)

    def close(self) -> None:
        self.process.close()


class SshTransport(HostTransport):
    def __init__(self, url: HostUrl, options: TransportOptions) -> None:
        super().__init__(url, options)
        self._conn: asyncssh.SSHClientConnection | None = None
        self._reader: _Reader | None = None
        self._lock = asyncio.Lock()
        self._backoff = BACKOFF_START
        self._failure: HostError | None = None
        self.host_key_problem: HostKeyProblem | None = None
        self._username = self.url.user or ""

    # --- connecting -------------------------------------------------------------------

    def _known_hosts_files(self) -> list[str]:
        """--known-hosts, else the config's UserKnownHostsFile, else ~/.ssh/known_hosts."""
        if self.options.known_hosts:
            return [self.options.known_hosts]
        try:
            resolved = asyncssh.SSHClientConnectionOptions(
                config=list(self.options.ssh_config) or (),
                host=self.url.host.strip("[]"),
                port=self.url.port if self.url.port is not None else (),
            )
        except (OSError, asyncssh.Error, ValueError):
            return [default_known_hosts()]
        listed = resolved.known_hosts if isinstance(resolved.known_hosts, list) else []
        return [str(Path(p).expanduser()) for p in listed] or [default_known_hosts()]

    @property
    def known_hosts_path(self) -> str:
        """Where an accepted key is saved: the first known_hosts file."""
        return self._known_hosts_files()[0]

    def _known_hosts(self) -> asyncssh.SSHKnownHosts:
        candidates = [*self._known_hosts_files(), "/etc/ssh/ssh_known_hosts"]
        files = [f for f in candidates if os.path.isfile(f)]
        return asyncssh.read_known_hosts(files) if files else asyncssh.import_known_hosts("")

    async def connect(self) -> None:
        """Connect now, unless backing off (HostError says until when) or failed for good."""
        async with self._lock:
            await self._ensure()

    async def _connect_locked(self) -> None:
        if self._reader is not None:
            return
        self._set_status(LinkState.CONNECTING)
        client = _Client(self.options.accepted_host_keys)
        try:
            async with asyncio.timeout(self.options.connect_timeout * 2):
                conn = await asyncssh.connect(
                    self.url.host.strip("[]"),
                    port=self.url.port if self.url.port is not None else (),
                    username=self.url.user if self.url.user else (),
                    known_hosts=self._known_hosts(),
                    client_factory=lambda: client,
                    config=list(self.options.ssh_config) or (),
                    connect_timeout=self.options.connect_timeout,
                    login_timeout=self.options.connect_timeout,
                    keepalive_interval=KEEPALIVE_INTERVAL,
                    keepalive_count_max=KEEPALIVE_COUNT_MAX,
                )
        except asyncssh.HostKeyNotVerifiable:
            problem = self._host_key_problem(client)
            raise self._fail(HostKeyError(problem)) from None
        except asyncssh.PermissionDenied as exc:
            who = f"{self.url.user}@" if self.url.user else ""
            raise self._fail(
                HostError(
                    ReadErrorKind.PERMISSION_DENIED,
                    f"SSH login to {who}{self.url.host} refused: {exc.reason}. Check the key "
                    "(IdentityFile, ssh-agent) and the user (ssh://user@host)",
                )
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            message = _connect_error(self.url, exc, self.options.connect_timeout)
            raise self._retry_later(message) from None
        self._username = str(conn.get_extra_info("username") or self.url.user or "")
        try:
            self._reader = await self._start_reader(conn)
        except _NeedsPerson as exc:
            conn.close()
            raise self._fail(exc) from None
        except HostError as exc:  # a slow or dying shell start can pass: try again later
            conn.close()
            raise self._retry_later(exc.message) from None
        except (OSError, asyncssh.Error, EOFError, ProtocolError, TimeoutError) as exc:
            conn.close()
            raise self._retry_later(f"the remote reader did not start: {_reason(exc)}") from None
        self._conn = conn
        self._backoff = BACKOFF_START
        self._failure = None
        self.host_key_problem = None
        self._set_connected()

    def _host_key_problem(self, client: _Client) -> HostKeyProblem:
        assert client.offered is not None, "host key refused before it was offered"
        host, port, key = client.offered
        trusted = self._known_hosts().match(host, "", port)[0]
        return HostKeyProblem(
            host=host,
            port=port,
            fingerprint=key.get_fingerprint("sha256"),
            key_line=known_hosts_line(host, port, key.export_public_key("openssh")),
            changed=bool(trusted),
            known_hosts=self.known_hosts_path,
        )

    async def _start_reader(self, conn: asyncssh.SSHClientConnection) -> _Reader:
        command = "sudo -n sh -s" if self.options.sudo else "sh -s"  # fixed words only
        process = await conn.create_process(command, encoding=None)
        reader = _Reader(process)
        try:
            process.stdin.write(SCRIPT.encode("ascii"))
            async with asyncio.timeout(READY_TIMEOUT):
                await reader.wait_ready()
        except (EOFError, BrokenPipeError, asyncssh.DisconnectError, asyncssh.ChannelOpenError):
            # The shell (or sudo) exited before it could run the reader: say why.
            await process.wait_closed()
            stderr = (await process.stderr.read()).decode("utf-8", "replace").strip()
            raise self._explain_start(stderr) from None
        except TimeoutError:
            process.close()
            raise HostError(
                ReadErrorKind.TIMED_OUT,
                f"the remote shell on {self.url.label} did not answer within {READY_TIMEOUT:g} s "
                "(slow or stuck shell start-up files?)",
            ) from None
        return reader

    def _explain_start(self, stderr: str) -> HostError:
        """Why the shell exited before the reader ran: a sudo rule to fix, or something that
        may pass (a shell killed while starting, a host shutting down)."""
        host = self.url.label
        user = self._username or "the SSH user"
        low = stderr.lower()
        if "password is required" in low:
            return _NeedsPerson(
                f"sudo -n on {host} needs a password for {user}. Add a NOPASSWD rule with "
                f"visudo, e.g. `{user} ALL=(root) NOPASSWD: /bin/sh -s, /usr/bin/sh -s`, "
                "or connect as root"
            )
        if "not in the sudoers" in low or "not allowed to execute" in low:
            return _NeedsPerson(
                f"{user} may not run `sh -s` with sudo on {host}. Add a rule with visudo, e.g. "
                f"`{user} ALL=(root) NOPASSWD: /bin/sh -s, /usr/bin/sh -s`"
            )
        if "must have a tty" in low:
            return _NeedsPerson(
                f"sudo on {host} requires a tty: add `Defaults:{user} !requiretty` with visudo"
            )
        if "sudo" in low and ("not found" in low or "no such file" in low):
            return _NeedsPerson(f"sudo is not installed on {host}: connect as root instead")
        return HostError(
            ReadErrorKind.HOST_UNREACHABLE,
            f"the remote reader on {host} did not start: {stderr or 'it exited at once'}",
        )

    def _fail(self, error: HostError) -> HostError:
        """A failure only a person can fix: no automatic retries."""
        self._failure = error
        if isinstance(error, HostKeyError):
            self.host_key_problem = error.problem
        self._set_status(LinkState.FAILED, error.message)
        return error

    def _retry_later(self, message: str) -> HostError:
        retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)
        self._set_status(LinkState.RETRYING, message, retry_at)
        return HostError(ReadErrorKind.HOST_UNREACHABLE, message)

    def accept_host_key(self, fingerprint: str, *, save: bool) -> None:
        """The person accepted the offered key (once, or `always` into known_hosts)."""
        problem = self.host_key_problem
        if problem is None or problem.fingerprint != fingerprint:
            raise ValueError(f"{fingerprint} is not the key {self.url.label} offered")
        self.options.accepted_host_keys.add(fingerprint)
        if save:
            save_host_key(problem)
        self.retry_now()

    def retry_now(self) -> None:
        """Forget the backoff and any failure: the next call tries to connect."""
        self._failure = None
        self._backoff = BACKOFF_START
        if self._status.state in (LinkState.RETRYING, LinkState.FAILED):
            self._set_status(LinkState.RETRYING, self._status.message, time.monotonic())

    async def _ensure(self) -> _Reader:
        if self._reader is not None:
            return self._reader
        if self._failure is not None:
            raise self._failure
        status = self._status
        if status.state is LinkState.RETRYING and status.retry_at is not None:
            wait = status.retry_at - time.monotonic()
            if wait > 0:
                raise HostError(ReadErrorKind.HOST_UNREACHABLE, status.describe())
        await self._connect_locked()
        assert self._reader is not None
        return self._reader

    def _teardown(self) -> asyncssh.SSHClientConnection | None:
        """Close the reader and the connection; returns the connection, to await if wanted."""
        conn, reader = self._conn, self._reader
        self._reader = self._conn = None
        if reader is not None:
            reader.close()
        if conn is not None:
            conn.close()
        return conn

    def _drop(self, message: str) -> HostError:
        """The link or the reader broke: close it and retry with backoff."""
        self._teardown()
        return self._retry_later(message)

    async def close(self) -> None:
        async with self._lock:
            conn = self._teardown()
            if conn is not None:
                await conn.wait_closed()
        self._set_status(LinkState.CLOSED)

    # --- requests -----------------------------------------------------------------------

    async def _exchange(
        self, make: Callable[[int], bytes], budget: float, decode: Callable[[list[Record]], T]
    ) -> T:
        """One request over the reader (connecting first if need be), its answer decoded.
        Raises HostError; a garbled answer drops the reader, as the framing may be lost."""
        reader = await self._ensure()
        try:
            async with asyncio.timeout(budget):
                return decode(await reader.request(make))
        except TimeoutError:
            raise self._drop(
                f"the remote reader gave no answer within {budget:g} s; starting a new one"
            ) from None
        except ProtocolError as exc:
            self._drop(f"garbled answer from the remote reader ({exc})")
            raise HostError(ReadErrorKind.MALFORMED, f"garbled answer: {exc}") from None
        except (OSError, asyncssh.Error, EOFError) as exc:
            raise self._drop(f"connection lost: {_reason(exc)}") from None

    async def list_devices(self) -> dict[str, list[str]]:
        async with self._lock:
            listing = await self._exchange(
                lambda rid: list_request(rid, self.url.root),
                self.options.connect_timeout,
                device_listing,
            )
        if listing.error is not None:
            raise _listing_error(listing.error, self.options.sudo)
        return listing.devices

    async def _read(self, device: str, paths: Sequence[str]) -> dict[str, FileResult]:
        base = f"{self.url.device_root}/{device}/migration"
        full = [f"{base}/{path}" for path in paths]
        per_file = self.options.read_timeout
        budget = per_file * len(paths) + self.options.connect_timeout

        def decode(records: list[Record]) -> dict[str, FileResult]:
            results: dict[str, FileResult] = {}
            for record in records:
                if record.kind not in ("F", "T"):
                    raise ProtocolError(f"{record.kind} record in an answer to a read")
                index, answer = file_answer(record)
                if not 1 <= index <= len(paths):
                    raise ProtocolError(f"answer for file {index} of {len(paths)}")
                path = paths[index - 1]
                if answer.timed_out and path in results:
                    continue  # the read ended just as its watchdog fired: keep what it read
                results[path] = _result(path, answer, per_file)
            return results

        async with self._lock:
            try:
                results = await self._exchange(
                    lambda rid: read_request(rid, per_file, MAX_FILE_BYTES + 1, full),
                    budget,
                    decode,
                )
            except HostError as exc:
                return {path: FileResult(path, error=exc.as_read_error()) for path in paths}
        for path in paths:
            if path not in results:
                error = ReadError(ReadErrorKind.MALFORMED, "the remote reader gave no answer")
                results[path] = FileResult(path, error=error)
        self._mark_good_read()
        return results

    async def run(self, command: str) -> None:
        """Run one fixed command on the connection (the benchmarks' bare round trip)."""
        async with self._lock:
            await self._ensure()
        assert self._conn is not None
        await self._conn.run(command, check=True)


class _NeedsPerson(HostError):
    """The reader cannot start until a person changes the host (a sudo rule, say)."""

    def __init__(self, message: str) -> None:
        super().__init__(ReadErrorKind.PERMISSION_DENIED, message)


def _result(path: str, answer: FileAnswer, timeout: float) -> FileResult:
    if answer.timed_out:
        return timed_out(path, timeout, answer.file_type)
    if answer.data is not None:
        return data_result(path, answer.data)
    message = answer.message or "the read failed"
    if answer.errno is not None:
        return FileResult(path, error=ReadError.from_errno(answer.errno, message))
    return FileResult(path, error=ReadError(ReadErrorKind.MALFORMED, message))


def _listing_error(message: str, sudo: bool) -> HostError:
    code = errno_from_message(message)
    if code in (errno.EACCES, errno.EPERM):
        hint = "" if sudo else " (debugfs is readable by root only: connect as root or use --sudo)"
        return HostError(ReadErrorKind.PERMISSION_DENIED, message + hint)
    if code == errno.ENOENT:
        return HostError(
            ReadErrorKind.NOT_FOUND,
            message + " (is debugfs mounted, and the kernel built with CONFIG_VFIO_DEBUGFS?)",
        )
    return HostError(ReadErrorKind.MALFORMED, message)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or text
    return text


def _connect_error(url: HostUrl, exc: BaseException, timeout: float) -> str:
    where = url.host if url.port is None else f"{url.host}:{url.port}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection to {where} refused (is sshd running?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {url.host}: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot reach {where}: {exc.strerror}"
    return f"cannot connect to {where}: {_reason(exc)}"
