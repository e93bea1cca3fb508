"""Small helpers the transport tests share."""

from __future__ import annotations

from pathlib import Path

from sim.sshserver import SimSshServer
from vfio_tui.model.hosturl import parse_host_url
from vfio_tui.model.layout import poll_files
from vfio_tui.model.snapshot import FileResult
from vfio_tui.transport.base import HostTransport, TransportOptions
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
