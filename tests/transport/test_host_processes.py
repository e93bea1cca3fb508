"""What the reader costs the watched host, counted in processes (issue 13).

The real reader script runs under `sh -s` in a PID namespace of its own, so the
namespace's last PID counts exactly the processes it started, whatever else the
machine runs. Counts, not times: they do not depend on how busy the machine is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vfio_tui.transport.reader_protocol import (
    SCRIPT,
    Record,
    device_listing,
    list_request,
    parse_record,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")),
    reason="needs root, unshare and nsenter for a PID namespace",
)

FILES = ["state", "features", "hisi_acc/migf_data"]


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

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)


SHELLS = {"dash": ["dash"], "bash": ["bash"], "busybox ash": ["busybox", "sh"]}


@pytest.fixture(params=[name for name, argv in SHELLS.items() if shutil.which(argv[0])])
def reader(request: pytest.FixtureRequest) -> Iterator[NamespacedReader]:
    one = NamespacedReader(SHELLS[request.param])
    yield one
    one.close()


def debugfs(root: Path, devices: int) -> Path:
    for n in range(devices):
        migration = root / "vfio" / f"0000:3b:{n:02x}.1" / "migration"
        (migration / "hisi_acc").mkdir(parents=True)
        for name in FILES:
            (migration / name).write_text("RUNNING\n")
    return root


def test_listing_64_devices_starts_no_more_processes_than_one(
    reader: NamespacedReader, tmp_path: Path
) -> None:
    one, many = debugfs(tmp_path / "one", 1), debugfs(tmp_path / "many", 64)
    started_one, records = reader.processes_started(list_request(1, str(one)))
    assert list(device_listing(records).devices) == ["0000:3b:00.1"]
    reader.next_id = 2
    started_many, records = reader.processes_started(list_request(2, str(many)))
    listing = device_listing(records).devices
    assert len(listing) == 64 and listing["0000:3b:3f.1"] == sorted(FILES)
    # Before issue 13 every device and file name went through `base64`: hundreds of forks.
    assert started_many <= started_one, (started_one, started_many)
