"""What the reader costs the watched host, counted in processes (issue 13).

The real reader script runs under `sh -s` in a PID namespace of its own, so the
namespace's last PID counts exactly the processes it started, whatever else the
machine runs. Counts, not times: they do not depend on how busy the machine is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transport.helpers import SHELLS, NamespacedReader, debugfs_tree
from vfio_tui.transport.reader_protocol import device_listing, list_request

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")),
    reason="needs root, unshare and nsenter for a PID namespace",
)

FILES = ["state", "features", "hisi_acc/migf_data"]


@pytest.fixture(params=[name for name, argv in SHELLS.items() if shutil.which(argv[0])])
def reader(request: pytest.FixtureRequest) -> Iterator[NamespacedReader]:
    one = NamespacedReader(SHELLS[request.param])
    yield one
    one.close()


def test_listing_starts_no_process_however_many_devices(
    reader: NamespacedReader, tmp_path: Path
) -> None:
    one, many = debugfs_tree(tmp_path / "one", 1), debugfs_tree(tmp_path / "many", 64)
    started_one, records = reader.processes_started(list_request(1, str(one)))
    assert list(device_listing(records).devices) == ["0000:3b:00.1"]
    reader.next_id = 2
    started_many, records = reader.processes_started(list_request(2, str(many)))
    listing = device_listing(records).devices
    assert len(listing) == 64 and listing["0000:3b:3f.1"] == sorted(FILES)
    # Before issue 13 every device and file name went through `base64`: hundreds of forks
    # (769 for 64 devices under dash), and `ls` checked the directory.
    assert (started_one, started_many) == (0, 0)


def test_odd_names_still_list_exactly(reader: NamespacedReader, tmp_path: Path) -> None:
    # Plain names travel as themselves; anything else still goes through base64.
    odd = "dev =é\x1b[31m"
    (tmp_path / "vfio" / odd / "migration").mkdir(parents=True)
    (tmp_path / "vfio" / odd / "migration" / "st ate").write_text("x")
    (tmp_path / "vfio" / "=plain" / "migration").mkdir(parents=True)
    (tmp_path / "vfio" / "=plain" / "migration" / "state").write_text("x")
    _, records = reader.processes_started(list_request(1, str(tmp_path)))
    assert device_listing(records).devices == {odd: ["st ate"], "=plain": ["state"]}
