"""The configuration file: named host pairs, defaults, keymap and theme.

Looked for at $VFIO_TUI_CONFIG, else $XDG_CONFIG_HOME/vfio-tui/config.toml
(~/.config/vfio-tui/config.toml). A missing file is fine; a broken one is
an error that names the file, the line and the key (`path:line: key: what
is wrong`), and `vfio-tui` stops before opening anything.

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

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vfio_tui.model.hosturl import HostUrl, UrlError, parse_host_url

ENV_VAR = "VFIO_TUI_CONFIG"
# The poll interval: one range for the config file, --interval and the app's +/- keys.
POLL_INTERVAL_MIN = 0.1  # seconds: faster only burns CPU on both hosts
POLL_INTERVAL_MAX = 5.0  # seconds: slower misses short-lived states
POLL_INTERVAL_STEPS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # what + and - step through
DEFAULT_POLL_INTERVAL = 0.5
POLL_INTERVAL_RANGE = f"from {POLL_INTERVAL_MIN:g} to {POLL_INTERVAL_MAX:g}"


def valid_poll_interval(seconds: float) -> bool:
    return math.isfinite(seconds) and POLL_INTERVAL_MIN <= seconds <= POLL_INTERVAL_MAX


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
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> str:
        """`path:line: key` for messages about a setting (what the user should open)."""
        return _where(self.path, self.lines, key)


def _where(path: Path | None, lines: Mapping[str, int], key: str) -> str:
    name = str(path) if path is not None else "configuration"
    line = lines.get(key)
    if line is None and "." in key:
        line = lines.get(key.rsplit(".", 1)[0])
    return f"{name}:{line}: {key}" if line is not None else f"{name}: {key}"


def config_path() -> Path:
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return expand_path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vfio-tui" / "config.toml"


def expand_path(text: str) -> Path:
    """`text` with a leading ~ or ~user expanded; ValueError says when that user is unknown."""
    path = Path(text)
    if not text.startswith("~"):
        return path
    user = text[1:].split("/", 1)[0]
    try:
        expanded = path.expanduser()
    except RuntimeError:  # Python 3.11: no such user, or no home directory
        expanded = path
    if str(expanded).startswith("~"):
        who = f"no such user {user!r}" if user else "no home directory (HOME is not set)"
        raise ValueError(f"{text!r}: {who}")
    return expanded


def load_config(path: Path | None = None) -> Config:
    """The configuration at `path` (default: config_path()); defaults if there is none."""
    explicit = path is not None or bool(os.environ.get(ENV_VAR))
    try:
        path = path or config_path()
    except ValueError as exc:
        raise ConfigError(f"${ENV_VAR}: {exc}") from None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such configuration file") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return _parse(path, data, key_lines(text))


# --- where each key is: tomllib gives values, not line numbers --------------------------

_TABLE = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _dotted(text: str) -> list[str]:
    parts = re.findall(r"[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'", text)
    return [part.strip("\"'") for part in parts]


def key_lines(text: str) -> dict[str, int]:
    """Each dotted key (`keymap.save`, `pairs.lab.source`) and table -> its 1-based line.

    A plain scan of the lines, good enough for messages: it skips the inside of
    multi-line strings and ignores what it does not recognise.
    """
    found: dict[str, int] = {}
    table: list[str] = []
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if in_string in line:
                in_string = None
            continue
        match = _TABLE.match(line)
        if match and not _KEY.match(line):
            table = _dotted(match.group(1))
            found.setdefault(".".join(table), number)
            continue
        match = _KEY.match(line)
        if match:
            key = ".".join([*table, *_dotted(match.group(1))])
            found.setdefault(key, number)
            rest = line[match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_string = quote
    return found


_KNOWN = {f.name for f in fields(Config)} - {"path", "lines"}  # the settings a file may hold


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse(path: Path, data: dict[str, Any], lines: Mapping[str, int] | None = None) -> Config:
    lines = lines or {}

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{_where(path, lines, key)}: {why}")

    unknown = set(data) - _KNOWN
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown setting (known: {', '.join(sorted(_KNOWN))})")
    interval = data.get("poll_interval", DEFAULT_POLL_INTERVAL)
    if not _is_number(interval) or not valid_poll_interval(interval):
        raise fail("poll_interval", f"a number of seconds {POLL_INTERVAL_RANGE}, not {interval!r}")
    for key in ("sudo", "read_only"):
        if not isinstance(data.get(key, False), bool):
            raise fail(key, f"true or false, not {data[key]!r}")
    for key in ("theme", "capture_dir", "known_hosts"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, f"a string, not {data[key]!r}")
    paths: dict[str, Path | None] = {}
    for key in ("capture_dir", "known_hosts"):
        try:
            paths[key] = expand_path(data[key]) if data.get(key) else None
        except ValueError as exc:
            raise fail(key, str(exc)) from None
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        raise fail("keymap", 'a table of binding id = "keys"')
    for binding, keys in keymap.items():
        if not isinstance(keys, str):
            raise fail(
                f"keymap.{binding}", f'keys as a string like "w" or "w,ctrl+s", not {keys!r}'
            )
    pairs_table = data.get("pairs", {})
    if not isinstance(pairs_table, dict):
        raise fail("pairs", "tables like [pairs.lab] with source and destination")
    pairs = {}
    for name, entry in pairs_table.items():
        if not isinstance(entry, dict):
            raise fail(f"pairs.{name}", "a table with source and destination")
        unknown = set(entry) - {"source", "destination", "sudo"}
        if unknown:
            raise fail(f"pairs.{name}.{sorted(unknown)[0]}", "unknown (source, destination, sudo)")
        urls = []
        for end in ("source", "destination"):
            if end not in entry:
                raise fail(f"pairs.{name}", f"missing {end}")
            if not isinstance(entry[end], str):
                raise fail(f"pairs.{name}.{end}", f"a host URL string, not {entry[end]!r}")
            try:
                urls.append(parse_host_url(entry[end]))
            except UrlError as exc:
                raise fail(f"pairs.{name}.{end}", str(exc)) from None
        sudo = entry.get("sudo")
        if sudo is not None and not isinstance(sudo, bool):
            raise fail(f"pairs.{name}.sudo", f"true or false, not {sudo!r}")
        pairs[name] = HostPair(name, urls[0], urls[1], sudo)
    known_hosts = paths["known_hosts"]
    return Config(
        path=path,
        poll_interval=float(interval),
        theme=data.get("theme"),
        sudo=bool(data.get("sudo", False)),
        read_only=bool(data.get("read_only", False)),
        capture_dir=paths["capture_dir"],
        known_hosts=str(known_hosts) if known_hosts is not None else None,
        keymap=dict(keymap),
        pairs=pairs,
        lines=dict(lines),
    )


# --- the keymap -------------------------------------------------------------------------


def split_keys(keys: str) -> list[str]:
    """`"w, ctrl+s"` -> ["w", "ctrl+s"]: Textual's comma-separated key list."""
    return [key.strip() for key in keys.split(",")]


def check_keymap(
    config: Config, defaults: Mapping[str, str], reserved: Mapping[str, str] | None = None
) -> None:
    """Refuse a [keymap] that names an unknown binding, gives no key, or gives one key twice.

    `defaults` maps each binding id to its default keys; `reserved` maps keys the
    app keeps for itself (ctrl+q...) to what they do. A key used by two bindings
    would run one of them and hide the other (`save = "q"` would hide Quit).
    """
    reserved = reserved or {}

    def fail(binding: str, why: str) -> ConfigError:
        return ConfigError(f"{config.where(f'keymap.{binding}')}: {why}")

    for binding, keys in config.keymap.items():
        if binding not in defaults:
            raise fail(binding, f"no such binding id (known: {', '.join(sorted(defaults))})")
        if any(not key or any(ch.isspace() for ch in key) for key in split_keys(keys)):
            raise fail(binding, f'{keys!r} is not a key list (like "w" or "w,ctrl+s")')
    owner: dict[str, str] = {}
    for binding, default in defaults.items():
        for key in split_keys(config.keymap.get(binding, default)):
            if key in reserved:
                raise fail(binding, f"{key!r} is already {reserved[key]}'s key")
            if key in owner and owner[key] != binding:
                other = owner[key]
                # Name the line the user wrote: the remapped binding, of the two.
                culprit, victim = (binding, other) if binding in config.keymap else (other, binding)
                raise fail(
                    culprit, f"{key!r} is also the key of {victim!r}; give one of them another key"
                )
            owner[key] = binding
