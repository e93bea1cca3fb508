"""Small helpers the transport tests share."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sim.sshserver import SimSshServer
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.layout import poll_files
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import HostTransport, TransportOptions
from vfio_tui.transport.reader_protocol import SCRIPT, Record, parse_record
from vfio_tui.transport.ssh import SshTransport


def trusting(
    server: SimSshServer, directory: Path, user: str = "tester", **options: object
) -> SshTransport:
    """A transport to `server` whose known_hosts already holds the server's key."""
    known = directory / f"known_hosts_{server.port}"
    known.write_text(server.known_hosts_line() + "\n")
    return SshTransport(
        parse_host_url(f"ssh://{user}@127.0.0.1:{server.port}"),
        TransportOptions(known_hosts=str(known), **options),  # type: ignore[arg-type]
    )


async def read_everything(transport: HostTransport) -> dict[str, dict[str, FileResult]]:
    """Every migratable device's pure-read files, as one poll each would read them."""
    devices = await transport.list_devices()
    return {
        name: await transport.read_files(name, poll_files(files))
        for name, files in sorted(devices.items())
    }


# The shells the reader must run under, as argv (busybox runs `sh` as ash).
SHELLS = {"dash": ["dash"], "bash": ["bash"], "busybox ash": ["busybox", "sh"]}


class NamespacedReader:
    """The reader script in a fresh PID namespace (with its own /proc)."""

    def __init__(self, shell: list[str]) -> None:
        self.process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", *shell, "-s"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.stdin.write(SCRIPT.encode("ascii"))
        self.stdin.flush()
        while True:
            line = self.stdout.readline()
            assert line, "the reader did not start"
            record = parse_record(line)
            if record is not None and record.kind == "READY":
                break
        self.next_id = 1

    def last_pid(self) -> int:
        """The namespace's last PID (the `cat` that reads it is one process more)."""
        init = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        target = init.split()[0]  # the shell, PID 1 of the namespace
        out = subprocess.run(
            [
                "nsenter",
                "--target",
                target,
                "--pid",
                "--mount",
                "cat",
                "/proc/sys/kernel/ns_last_pid",
            ],
            check=True,
            capture_output=True,
        )
        return int(out.stdout)

    def request(self, payload: bytes) -> list[Record]:
        self.stdin.write(payload)
        self.stdin.flush()
        records = []
        while True:
            line = self.stdout.readline()
            assert line, "the reader ended"
            record = parse_record(line)
            assert record is not None
            if record.kind == "END":
                return records
            records.append(record)

    def processes_started(self, make: bytes) -> tuple[int, list[Record]]:
        before = self.last_pid()
        records = self.request(make)
        return self.last_pid() - before - 1, records

    def cpu_seconds(self) -> float:
        """CPU the reader used so far: its own and its waited-for children's."""
        init = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        stat = Path(f"/proc/{init.split()[0]}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)


def debugfs_tree(
    root: Path, devices: int, files: tuple[str, ...] = ("state", "features", "hisi_acc/migf_data")
) -> Path:
    """`devices` migratable devices under root/vfio, each with these files."""
    for n in range(devices):
        migration = root / "vfio" / f"0000:3b:{n:02x}.1" / "migration"
        (migration / "hisi_acc").mkdir(parents=True)
        for name in files:
            (migration / name).write_text("RUNNING\n")
    return root
