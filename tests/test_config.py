"""The configuration file: pairs, defaults, keymap; broken files named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.helpers import attached, log_text, wait_for
from vfio_tui.cli import build_app
from vfio_tui.config import ConfigError, load_config

GOOD = """
poll_interval = 1.0
theme = "ansi-dark"
read_only = true
capture_dir = "~/caps"

[keymap]
save = "w"

[pairs.lab]
source = "sim://src#0000:3d:00.2"
destination = "sim://dst#0000:3d:00.2"

[pairs.prod]
source = "ssh://root@src-host#0000:3b:00.2"
destination = "ssh://root@dst-host#0000:3b:00.2"
sudo = true
"""


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VFIO_TUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config.path is None and config.poll_interval == 0.5 and config.pairs == {}


def test_environment_variable_points_at_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    config = load_config()
    assert config.path == path
    assert config.poll_interval == 1.0 and config.theme == "ansi-dark" and config.read_only
    assert config.keymap == {"save": "w"}
    assert config.pairs["prod"].sudo is True
    assert str(config.pairs["prod"].source) == "ssh://root@src-host#0000:3b:00.2"
    assert config.capture_dir == Path.home() / "caps"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("poll_interval = \n", "line 1"),
        ("poll_intervall = 1\n", "poll_intervall: unknown setting"),
        ("poll_interval = 0\n", "poll_interval: a number of seconds"),
        ('[pairs.x]\nsource = "sim://src"\n', "pairs.x: missing destination"),
        ('[pairs.x]\nsource = "ssh://a:b@c"\ndestination = "sim://dst"\n', "no passwords"),
        ("[keymap]\nsave = 3\n", "keymap"),
    ],
)
def test_broken_files_say_where(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_an_explicit_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


async def test_a_named_pair_opens_with_the_config_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    app, mouse = build_app(["lab", "--capture-dir", str(tmp_path / "caps"), "--no-mouse"])
    assert not mouse
    assert str(app.session.sides["source"].url) == "sim://src#0000:3d:00.2"
    assert app.session.read_only and app.interval == 1.0
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: attached(app))
        assert app.theme == "ansi-dark"
        await pilot.press("w")  # `save`, remapped; refused because the config says read-only
        await wait_for(pilot, lambda: "read-only mode: Save refused" in log_text(app))


def test_unknown_pair_name_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    with pytest.raises(SystemExit):
        build_app(["nowhere"])
    assert "not a pair from the config file (lab, prod)" in capsys.readouterr().err
