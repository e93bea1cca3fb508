"""Host URLs, the one way hosts are named everywhere (app, snapshot command, config).

  sim://src, sim://dst                       the built-in simulated pair
  local:///sys/kernel/debug                  this machine; the path is the debugfs root
  ssh://[user@]host[:port][/debugfs-root]    a remote host
  ...#0000:3b:00.2                           a device, picked with a fragment

Everything a URL carries is validated here, so that a name that reaches a
remote command is already known to be plain: no spaces, quotes, newlines or
`..`. Passwords in URLs are refused (they would end up in logs and reports).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_DEBUGFS = "/sys/kernel/debug"
SIM_HOSTS = ("src", "dst")

# dev_name() of a vfio device: a PCI address, an mdev UUID, a platform name.
_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._+-]{0,127}")
_ROOT = re.compile(r"/(?:[A-Za-z0-9._+-]+/?)*")
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})|\[[0-9A-Fa-f:.]+\]")
_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,63}")


class UrlError(ValueError):
    """A host URL that cannot be used; the message says what to write instead."""


class Scheme(enum.Enum):
    SIM = "sim"
    LOCAL = "local"
    SSH = "ssh"


def valid_device(name: str) -> bool:
    return _DEVICE.fullmatch(name) is not None and ".." not in name


def valid_root(path: str) -> bool:
    padded = f"{path}/"
    return _ROOT.fullmatch(path) is not None and "/../" not in padded and "/./" not in padded


@dataclass(frozen=True)
class HostUrl:
    scheme: Scheme
    host: str  # sim: src/dst; local: "" ; ssh: hostname or [v6]
    root: str = DEFAULT_DEBUGFS
    user: str | None = None
    port: int | None = None
    device: str | None = None

    @property
    def without_device(self) -> HostUrl:
        return HostUrl(self.scheme, self.host, self.root, self.user, self.port)

    @property
    def label(self) -> str:
        """A short name for headers: the host only."""
        if self.scheme is Scheme.SIM:
            return f"sim-{self.host}"
        if self.scheme is Scheme.LOCAL:
            return "localhost"
        return self.host

    def __str__(self) -> str:
        fragment = f"#{self.device}" if self.device else ""
        if self.scheme is Scheme.SIM:
            return f"sim://{self.host}{fragment}"
        if self.scheme is Scheme.LOCAL:
            return f"local://{self.root}{fragment}"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        root = "" if self.root == DEFAULT_DEBUGFS else self.root
        return f"ssh://{user}{self.host}{port}{root}{fragment}"

    @property
    def device_root(self) -> str:
        """The directory holding the device directories: <debugfs>/vfio."""
        return f"{self.root.rstrip('/')}/vfio"


def parse_host_url(text: str) -> HostUrl:
    """Parse a host URL; UrlError says what is wrong and what is accepted.

    UrlError is the only exception it raises, whatever `text` holds.
    """
    try:
        return _parse(text)
    except UrlError:
        raise
    except ValueError as exc:  # urllib's own complaints (brackets, ports, IDNA)
        raise UrlError(f"{text!r} is not a host URL: {exc}") from None


def _parse(text: str) -> HostUrl:
    if "://" not in text:
        raise UrlError(
            f"{text!r} is not a host URL: write sim://src, sim://dst, "
            "local:///sys/kernel/debug or ssh://[user@]host[:port][/debugfs-root]"
        )
    if any(ch.isspace() for ch in text):
        raise UrlError(f"{text!r}: a host URL has no spaces")
    try:
        parts = urlsplit(text)
    except ValueError:
        what = "is not an IPv6 address" if "]" in text else "has no closing bracket"
        raise UrlError(
            f"{text!r}: the address in brackets {what}; write an IPv6 host like ssh://[::1]:22"
        ) from None
    try:
        scheme = Scheme(parts.scheme)
    except ValueError:
        raise UrlError(f"{text!r}: unknown scheme {parts.scheme!r} (sim, local or ssh)") from None
    if parts.query:
        raise UrlError(f"{text!r}: host URLs take no ?query")
    device = unquote(parts.fragment) or None
    if device is not None and not valid_device(device):
        raise UrlError(f"{text!r}: {device!r} is not a device name (like 0000:3b:00.2)")

    if scheme is Scheme.SIM:
        if parts.netloc not in SIM_HOSTS or parts.path not in ("", "/"):
            raise UrlError(f"{text!r}: the simulated hosts are sim://src and sim://dst")
        return HostUrl(scheme, parts.netloc, device=device)

    if scheme is Scheme.LOCAL:
        if parts.netloc:
            raise UrlError(
                f"{text!r}: local URLs name a path, with three slashes: local:///sys/kernel/debug"
            )
        root = parts.path or DEFAULT_DEBUGFS
        if not valid_root(root):
            raise UrlError(f"{text!r}: {root!r} is not a plain absolute path")
        return HostUrl(scheme, "", root=root.rstrip("/") or "/", device=device)

    if parts.password is not None:
        raise UrlError(f"{text!r}: no passwords in URLs; use an SSH key or the agent")
    try:
        port = parts.port
    except ValueError:
        raise UrlError(f"{text!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise UrlError(f"{text!r}: the port must be a number from 1 to 65535")
    netloc_host = parts.netloc.rsplit("@", 1)[-1]
    host = (
        netloc_host.rsplit(":", 1)[0]
        if not netloc_host.startswith("[")
        else (netloc_host[: netloc_host.index("]") + 1])
    )
    if not host or _HOST.fullmatch(host) is None:
        raise UrlError(f"{text!r}: {host!r} is not a host name or address")
    user = unquote(parts.username) if parts.username else None
    if user is not None and _USER.fullmatch(user) is None:
        raise UrlError(f"{text!r}: {user!r} is not a user name")
    root = parts.path.rstrip("/") or DEFAULT_DEBUGFS
    if not valid_root(root):
        raise UrlError(f"{text!r}: {root!r} is not a plain absolute path")
    return HostUrl(scheme, host, root=root, user=user, port=port, device=device)
