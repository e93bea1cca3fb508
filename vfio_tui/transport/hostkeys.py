"""Host key problems, as values: what the app asks a person about. No asyncssh here."""

from __future__ import annotations

from dataclasses import dataclass

from vfio_tui.model.snapshot import ReadErrorKind
from vfio_tui.transport.base import HostError


@dataclass(frozen=True)
class HostKeyProblem:
    """A host key that is not in known_hosts (unknown) or differs from it (changed)."""

    host: str
    port: int
    fingerprint: str  # SHA256:...
    key_line: str  # what `always` appends to known_hosts
    changed: bool
    known_hosts: str

    def describe(self) -> str:
        where = host_pattern(self.host, self.port)
        if self.changed:
            return (
                f"HOST KEY CHANGED for {where}: it now offers {self.fingerprint}, which is not "
                f"the key recorded in {self.known_hosts}. This can mean someone is intercepting "
                "the connection, or that the host was reinstalled. Check the fingerprint with "
                "the host's administrator before accepting it."
            )
        return (
            f"unknown host key for {where}: {self.fingerprint} is not in {self.known_hosts}. "
            f"Check it on the host (ssh-keygen -lf {self.host_key_file}) and accept "
            f"it with --accept-host-key {self.fingerprint}"
        )

    @property
    def algorithm(self) -> str:
        """The key's type as known_hosts writes it: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256..."""
        words = self.key_line.split()
        return words[1] if len(words) > 1 else ""

    @property
    def host_key_file(self) -> str:
        """Where sshd keeps the public key of this type (OpenSSH's default names)."""
        return host_key_file(self.algorithm)


class HostKeyError(HostError):
    def __init__(self, problem: HostKeyProblem) -> None:
        super().__init__(ReadErrorKind.PERMISSION_DENIED, problem.describe())
        self.problem = problem


# OpenSSH's HostKey defaults: /etc/ssh/ssh_host_<name>_key(.pub), by key algorithm.
_HOST_KEY_NAMES = {
    "ssh-ed25519": "ed25519",
    "ssh-rsa": "rsa",
    "ssh-dss": "dsa",
}


def host_key_file(algorithm: str) -> str:
    """The public host key file sshd uses by default for keys of `algorithm`."""
    name = _HOST_KEY_NAMES.get(algorithm)
    if name is None and algorithm.startswith("ecdsa-sha2-"):
        name = "ecdsa"
    if name is None:
        return "/etc/ssh/ssh_host_*_key.pub"
    return f"/etc/ssh/ssh_host_{name}_key.pub"


def host_pattern(host: str, port: int) -> str:
    """How known_hosts names a host: bare on port 22, else [host]:port."""
    return host if port == 22 else f"[{host}]:{port}"


def known_hosts_line(host: str, port: int, public_key: bytes) -> str:
    """The known_hosts line for a key exported in OpenSSH format (`type base64 [comment]`)."""
    words = public_key.decode("ascii").split()
    return f"{host_pattern(host, port)} {words[0]} {words[1]}"
