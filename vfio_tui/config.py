"""The configuration file: named host pairs, defaults, keymap and theme.

Looked for at $VFIO_TUI_CONFIG, else $XDG_CONFIG_HOME/vfio-tui/config.toml
(~/.config/vfio-tui/config.toml). A missing file is fine; a broken one is
an error that names the file, the line and the key.

    poll_interval = 0.5        # seconds
    theme = "textual-dark"     # or "ansi-dark" to use the terminal's own colours
    sudo = false
    read_only = false
    capture_dir = "~/.local/share/vfio-tui/captures"
    known_hosts = "~/.ssh/known_hosts"

    [keymap]                   # binding id = keys
    save = "w"

    [pairs.lab]
    source = "ssh://root@src-host#0000:3b:00.2"
    destination = "ssh://root@dst-host#0000:3b:00.2"
    sudo = true                # per pair
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vfio_tui.model.hosturl import HostUrl, UrlError, parse_host_url

ENV_VAR = "VFIO_TUI_CONFIG"
DEFAULT_POLL_INTERVAL = 0.5  # seconds
POLL_INTERVAL_RANGE = "from 0.05 to 60"


def valid_poll_interval(seconds: float) -> bool:
    return 0.05 <= seconds <= 60


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class HostPair:
    name: str
    source: HostUrl
    destination: HostUrl
    sudo: bool | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    theme: str | None = None
    sudo: bool = False
    read_only: bool = False
    capture_dir: Path | None = None
    known_hosts: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, HostPair] = field(default_factory=dict)


def config_path() -> Path:
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vfio-tui" / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """The configuration at `path` (default: config_path()); defaults if there is none."""
    explicit = path is not None or bool(os.environ.get(ENV_VAR))
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such configuration file") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return _parse(path, data)


_KNOWN = {f.name for f in fields(Config)} - {"path"}  # the settings a file may hold


def _parse(path: Path, data: dict[str, Any]) -> Config:
    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {why}")

    unknown = set(data) - _KNOWN
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown setting (known: {', '.join(sorted(_KNOWN))})")
    interval = data.get("poll_interval", DEFAULT_POLL_INTERVAL)
    if (
        not isinstance(interval, int | float)
        or isinstance(interval, bool)
        or not valid_poll_interval(interval)
    ):
        raise fail("poll_interval", f"a number of seconds {POLL_INTERVAL_RANGE}")
    for key in ("sudo", "read_only"):
        if not isinstance(data.get(key, False), bool):
            raise fail(key, "true or false")
    for key in ("theme", "capture_dir", "known_hosts"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, "a string")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise fail("keymap", 'a table of binding id = "keys"')
    pairs = {}
    for name, entry in dict(data.get("pairs", {})).items():
        if not isinstance(entry, dict):
            raise fail(f"pairs.{name}", "a table with source and destination")
        try:
            source = parse_host_url(str(entry["source"]))
            destination = parse_host_url(str(entry["destination"]))
        except KeyError as exc:
            raise fail(f"pairs.{name}", f"missing {exc.args[0]}") from None
        except UrlError as exc:
            raise fail(f"pairs.{name}", str(exc)) from None
        sudo = entry.get("sudo")
        if sudo is not None and not isinstance(sudo, bool):
            raise fail(f"pairs.{name}.sudo", "true or false")
        pairs[name] = HostPair(name, source, destination, sudo)
    capture_dir = data.get("capture_dir")
    return Config(
        path=path,
        poll_interval=float(interval),
        theme=data.get("theme"),
        sudo=bool(data.get("sudo", False)),
        read_only=bool(data.get("read_only", False)),
        capture_dir=Path(capture_dir).expanduser() if capture_dir else None,
        known_hosts=str(Path(data["known_hosts"]).expanduser()) if "known_hosts" in data else None,
        keymap=dict(keymap),
        pairs=pairs,
    )
