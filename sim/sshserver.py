"""The simulated hosts behind real SSH servers on 127.0.0.1 (asyncssh, no authentication).

Each server answers the commands vfio-tui sends: the reader (`sh -s` or
`sudo -n sh -s`, with the reader script on stdin) spoken from Python against
the simulated host, with the same framing, timeouts and errors as the real
script; plus `true` and `cat -- PATH...` so that a person can poke at it with
ssh. Blocking reads, vanishing devices and actions behave as in process.
"""

from __future__ import annotations

import asyncio
import errno
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from sim.host import SimHost
from vfio_tui.model.hosturl import DEFAULT_DEBUGFS
from vfio_tui.transport.hostkeys import known_hosts_line
from vfio_tui.transport.reader_protocol import (
    READY_LINE,
    SCRIPT,
    b64,
    emit,
    head_error,
    name_field,
)

ROOT_PREFIX = DEFAULT_DEBUGFS + "/"


@dataclass
class ServerFaults:
    """What a test can make a server do wrong."""

    refuse_sessions: bool = False  # every session channel is refused
    garbage: bool = False  # answers are not the reader's framing
    noise_before_ready: bytes = b""  # what a chatty .bashrc prints first
    ready_delay: float = 0.0  # a slow shell start-up
    sudo_refused: bool = False  # `sudo -n` fails as without a NOPASSWD rule
    list_answer: list[bytes] | None = None  # raw lines sent instead of the device listing


@dataclass
class SimSshServer:
    host: SimHost
    faults: ServerFaults = field(default_factory=ServerFaults)
    server: asyncssh.SSHAcceptor | None = None
    host_key: asyncssh.SSHKey | None = None
    sessions: int = 0
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.get_port())

    def known_hosts_line(self, address: str = "127.0.0.1") -> str:
        assert self.host_key is not None
        return known_hosts_line(address, self.port, self.host_key.export_public_key("openssh"))

    async def start(
        self, port: int = 0, address: str = "127.0.0.1", host_key: asyncssh.SSHKey | None = None
    ) -> None:
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        faults = self.faults
        connections = self.connections

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                connections.difference_update(c for c in list(connections) if c.is_closed())

            def begin_auth(self, username: str) -> bool:
                return False  # a simulator: anyone may log in

            def session_requested(self) -> bool:
                return False  # consulted only when sessions are refused (no process_factory)

        self.server = await asyncssh.create_server(
            Server,
            address,
            port,
            server_host_keys=[self.host_key],
            # asyncssh asks session_requested() only without a process_factory
            process_factory=None if faults.refuse_sessions else self._handle,
            encoding=None,
            keepalive_interval=10,
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def kill(self) -> None:
        """Stop listening and drop every connection, as a crashed sshd would."""
        self.close()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    async def wait_closed(self) -> None:
        if self.server is not None:
            await self.server.wait_closed()

    # --- commands ---------------------------------------------------------------------

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.sessions += 1
        try:
            words = shlex.split(process.command or "")
            sudo = words[:2] == ["sudo", "-n"]
            if sudo:
                words = [w for w in words[2:] if w != "--"]
                if self.faults.sudo_refused:
                    process.stderr.write(b"sudo: a password is required\n")
                    process.exit(1)
                    return
            if words == ["true"]:
                process.exit(0)
            elif words[:1] == ["cat"]:
                process.exit(await self._cat([w for w in words[1:] if w != "--"], process))
            elif words == ["sh", "-s"]:
                await self._reader(process)
                process.exit(0)
            else:
                name = words[0] if words else ""
                process.stderr.write(f"sh: 1: {name}: not found\n".encode())
                process.exit(127)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, asyncssh.SignalReceived):
            process.exit(1)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass  # the client went away

    async def _cat(self, paths: list[str], process: asyncssh.SSHServerProcess[bytes]) -> int:
        status = 0
        for path in paths:
            try:
                process.stdout.write(await self.host.read(_relative(path)))
            except OSError as exc:
                process.stderr.write(f"cat: {path}: {exc.strerror}\n".encode())
                status = 1
        return status

    async def _reader(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        # The client sends the reader script first; anything else is not ours.
        script = SCRIPT.encode("ascii")
        received = b""
        while len(received) < len(script):
            chunk = await process.stdin.read(len(script) - len(received))
            if not chunk:
                return
            received += chunk
            if not script.startswith(received):
                process.stderr.write(b"sh: the simulator runs only the vfio-tui reader\n")
                return
        process.stdout.write(self.faults.noise_before_ready)
        if self.faults.ready_delay:
            await asyncio.sleep(self.faults.ready_delay)
        process.stdout.write(READY_LINE)
        while True:
            line = await process.stdin.readline()
            if not line:
                return
            words = line.decode("ascii", "replace").split()
            if len(words) < 2 or not words[0].isdigit():
                continue
            request = int(words[0])
            if self.faults.garbage:
                process.stdout.write(emit(request, "F", "not-a-number", "@@@") + b"\x1eVTUI x\n")
            elif words[1] == "read" and len(words) >= 4:
                limits = (float(words[2]), int(words[3]))
                await self._read(request, limits, words[4:], process.stdout.write)
            elif words[1] == "list" and self.faults.list_answer is not None:
                for raw in self.faults.list_answer:
                    process.stdout.write(raw.replace(b"{id}", str(request).encode()))
            elif words[1] == "list" and len(words) == 3:
                self._list(request, words[2], process.stdout.write)
            else:
                process.stdout.write(emit(request, "E", b64(f"unknown request: {words[1]}")))
            process.stdout.write(emit(request, "END"))

    async def _read(
        self,
        request: int,
        limits: tuple[float, int],
        paths: list[str],
        write: Callable[[bytes], object],
    ) -> None:
        """Like the script: each file under its own timeout, at most `limit` bytes."""
        per_file, limit = limits
        for index, path in enumerate(paths, 1):
            try:
                async with asyncio.timeout(per_file):
                    data = await self.host.read(_relative(path))
            except TimeoutError:
                write(emit(request, "T", str(index)))
                continue
            except OSError as exc:
                code = exc.errno or errno.EIO
                opening = code in (errno.ENOENT, errno.EACCES, errno.EISDIR, errno.ENOTDIR)
                write(emit(request, "F", str(index), head_error(path, code, opening)))
                continue
            write(emit(request, "F", str(index), b64(data[:limit])))

    def _list(self, request: int, root: str, write: Callable[[bytes], object]) -> None:
        if root.rstrip("/") != DEFAULT_DEBUGFS:
            reason = "No such file or directory"
            write(emit(request, "E", b64(f"ls: cannot access '{root}/vfio': {reason}")))
            return
        try:
            devices = self.host.migratable()
        except OSError as exc:
            write(emit(request, "E", b64(f"ls: cannot access '{root}/vfio': {exc.strerror}")))
            return
        for name, files in sorted(devices.items()):
            write(emit(request, "D", name_field(name)))
            for path in files:
                write(emit(request, "P", name_field(name), name_field(path)))


def _relative(path: str) -> str:
    """A path under the simulated debugfs root, relative to it (ENOENT elsewhere)."""
    if not path.startswith(ROOT_PREFIX):
        raise OSError(errno.ENOENT, "No such file or directory")
    return path[len(ROOT_PREFIX) :]


async def serve_pair(
    hosts: list[SimHost],
    port: int = 0,
    address: str = "127.0.0.1",
    faults: ServerFaults | None = None,
    keys: list[asyncssh.SSHKey] | None = None,
) -> list[SimSshServer]:
    """One server per host: on `port` and the ports after it (any free ports for 0)."""
    servers = []
    for offset, host in enumerate(hosts):
        server = SimSshServer(host, faults or ServerFaults())
        key = keys[offset] if keys else None
        await server.start(port + offset if port else 0, address, host_key=key)
        servers.append(server)
    return servers


def load_or_make_key(directory: str | None, name: str) -> asyncssh.SSHKey:
    """A host key kept in `directory` (made on first use), or a fresh one."""
    if directory is None:
        return asyncssh.generate_private_key("ssh-ed25519")
    path = Path(directory) / f"{name}_ed25519"
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


def write_known_hosts(path: str, lines: list[str]) -> None:
    """Put these host lines into a known_hosts file, replacing older lines for the same hosts."""
    target = Path(path)
    patterns = {line.split()[0] for line in lines}
    kept = []
    if target.exists():
        kept = [
            old
            for old in target.read_text().splitlines()
            if old.split()[:1] and old.split()[0] not in patterns
        ]
    target.write_text("\n".join([*kept, *lines]) + "\n")
