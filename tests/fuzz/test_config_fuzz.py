"""Fuzz: the configuration file and the keymap check."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from vfio_tui.config import ConfigError, check_keymap, load_config

BINDINGS = {"save": "s", "quit": "q", "help": "question_mark", "next-pane": "tab", "pause": "p"}


def toml_value(value: object) -> str:
    """A TOML literal for `value` (JSON strings are valid TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value).replace("inf", "inf").replace("nan", "nan")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(key)} = {toml_value(value)}\n" for key, value in data.items())


scalars = st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SETTINGS = [
    "poll_interval",
    "theme",
    "sudo",
    "read_only",
    "capture_dir",
    "known_hosts",
    "keymap",
    "pairs",
]
documents = st.dictionaries(st.sampled_from(SETTINGS) | st.text(max_size=8), values, max_size=5)
TOKENS = ["[pairs.lab]", "[keymap]", "\n", " = ", '"', "'''", "#", "poll_interval", "~", "[", "]"]
texts = st.lists(st.sampled_from(TOKENS) | st.text(max_size=5), max_size=25).map("".join)


def load(text: str) -> object:
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "config.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return load_config(path)


@FUZZ
@given(documents.map(toml_document) | texts)
@example("pairs = 5\n")  # what fuzzing found: a TypeError, not a message
@example('capture_dir = "~nosuchuser/x"\n')
def test_any_file_loads_or_is_refused_with_its_path(text: str) -> None:
    try:
        config = load(text)
    except ConfigError as exc:
        assert "config.toml" in str(exc)
        return
    try:
        check_keymap(config, BINDINGS)  # type: ignore[arg-type]
    except ConfigError as exc:
        assert "keymap." in str(exc)


@st.composite
def valid_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    keys = draw(st.permutations(["a", "b", "c", "d", "e", "ctrl+s", "f5"]))
    keymap = {binding: keys[i] for i, binding in enumerate(BINDINGS) if draw(st.booleans())}
    data: dict[str, Any] = {
        "poll_interval": draw(st.sampled_from([0.1, 0.2, 0.5, 1, 2.5, 5])),
        "theme": draw(st.sampled_from(["ansi-dark", "textual-light"])),
        "sudo": draw(st.booleans()),
        "read_only": draw(st.booleans()),
        "known_hosts": draw(st.sampled_from(["/etc/kh", "~/kh"])),
    }
    lines = toml_document(data)
    lines += "[keymap]\n" + "".join(
        f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in keymap.items()
    )
    lines += '[pairs.lab]\nsource = "sim://src"\ndestination = "ssh://root@h:2222#0000:3b:00.2"\n'
    return lines, {**data, "keymap": keymap}


@FUZZ
@given(valid_configs())
def test_every_valid_config_loads_with_its_values(item: tuple[str, dict[str, Any]]) -> None:
    text, expected = item
    config = load(text)
    assert config.poll_interval == expected["poll_interval"]  # type: ignore[attr-defined]
    assert config.keymap == expected["keymap"]  # type: ignore[attr-defined]
    assert config.pairs["lab"].destination.port == 2222  # type: ignore[attr-defined]
    check_keymap(config, BINDINGS)  # type: ignore[arg-type]
