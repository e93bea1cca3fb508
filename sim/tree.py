"""`vfio-sim tree`: both simulated hosts' debugfs trees written as plain files.

Each host becomes a directory laid out as a debugfs root
(`<DIR>/<host>/vfio/<device>/migration/...`), for fixtures, for serving
through a real sshd and for bug reports. Pure reads are taken first (that is
the snapshot), action files after them (their output is what one read
printed). A file whose read fails or blocks is left out and listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from sim.device import errno_name
from sim.host import SimHost
from sim.pace import Pace
from sim.pair import default_pair
from sim.scenarios import Scenario
from vfio_tui.model.layout import FileKind

READ_TIMEOUT = 0.5  # a read that has not returned by then is blocked
SETTLE_TIMEOUT = 2.0  # how long a migration may take before it counts as hung


@dataclass
class TreeSummary:
    root: Path
    scenario: str
    outcome: str
    written: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        lines = [
            f"scenario {self.scenario}: migration {self.outcome}",
            f"wrote {len(self.written)} files under {self.root}",
        ]
        if self.left_out:
            lines.append(f"left out {len(self.left_out)} files whose read fails:")
            lines += [f"  {path}: {why}" for path, why in self.left_out]
        return "\n".join(lines)


async def write_trees(
    directory: str | os.PathLike[str], scenario: Scenario, device: str
) -> TreeSummary:
    root = Path(directory)
    pair = default_pair(Pace.instant())
    for host in (pair.src, pair.dst):
        target = root / host.name
        if target.exists() and any(target.iterdir()):
            raise SystemExit(f"vfio-sim tree: {target} is not empty; choose a new directory")
    migration = pair.start_migration(device, scenario)
    with contextlib.suppress(TimeoutError):  # hung: dump what a person would find now
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await asyncio.shield(pair.running[device])
    summary = TreeSummary(
        root, scenario.name, migration.outcome.value if migration.outcome else "hung"
    )
    for host in (pair.src, pair.dst):
        await _write_host(host, root / host.name, summary)
    await pair.stop()
    return summary


async def _write_host(host: SimHost, base: Path, summary: TreeSummary) -> None:
    files: list[str] = []
    for name in host.list_dir("vfio"):
        (base / "vfio" / name).mkdir(parents=True, exist_ok=True)
        if "migration" in host.list_dir(f"vfio/{name}"):
            files += [f"vfio/{name}/migration/{f}" for f in _walk(host, f"vfio/{name}/migration")]
    # Pure reads first: reading an action file (save, dev_data) changes what others show.
    files.sort(key=lambda p: _is_action(p))
    for path in files:
        shown = f"{host.name}:{path}"
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                data = await host.read(path)
        except TimeoutError:
            summary.left_out.append((shown, f"blocked (no answer within {READ_TIMEOUT} s)"))
            continue
        except OSError as exc:
            summary.left_out.append((shown, f"{exc.strerror} ({errno_name(exc.errno)})"))
            continue
        out = base / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        summary.written.append(shown)


def _walk(host: SimHost, directory: str) -> list[str]:
    """Every file below `directory`, as paths relative to it."""
    found = []
    for entry in host.list_dir(directory):
        try:
            inner = _walk(host, f"{directory}/{entry}")
        except NotADirectoryError:
            found.append(entry)
        else:
            found += [f"{entry}/{sub}" for sub in inner]
    return found


def _is_action(path: str) -> bool:
    kind = FileKind.from_path(path.split("/migration/", 1)[1])
    return kind is not None and kind.is_action
