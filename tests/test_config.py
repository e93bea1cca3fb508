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


# --- one poll interval range, errors with a line number, no tracebacks -----------------


def test_poll_interval_range_is_the_one_the_readme_and_the_keys_use(tmp_path: Path) -> None:
    from vfio_tui.config import POLL_INTERVAL_MAX, POLL_INTERVAL_MIN, POLL_INTERVAL_STEPS

    assert (POLL_INTERVAL_MIN, POLL_INTERVAL_MAX) == (0.1, 5.0)
    assert POLL_INTERVAL_STEPS[0] == POLL_INTERVAL_MIN
    assert POLL_INTERVAL_STEPS[-1] == POLL_INTERVAL_MAX
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "the poll interval (0.1 to 5 s; default 0.5 s)" in readme
    path = tmp_path / "config.toml"
    path.write_text('theme = "ansi-dark"\n\npoll_interval = 10\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:3: poll_interval: ")
    assert "from 0.1 to 5" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("pairs = 5\n", ":1: pairs", "tables like [pairs.lab]"),
        ('sudo = false\npairs = "x"\n', ":2: pairs", "tables like [pairs.lab]"),
        (
            '[pairs.lab]\nsource = "ssh://[::1"\ndestination = "sim://dst"\n',
            ":2: pairs.lab.source",
            "IPv6",
        ),
        (
            '[pairs.lab]\nsource = 3\ndestination = "sim://dst"\n',
            ":2: pairs.lab.source",
            "a host URL string",
        ),
        ('\n\nread_only = "yes"\n', ":3: read_only", "true or false"),
        ("theme = 7\n", ":1: theme", "a string"),
        ("[keymap]\n\nsave = 3\n", ":3: keymap.save", "keys as a string"),
        ('capture_dir = "~nosuchuser/x"\n', ":1: capture_dir", "no such user 'nosuchuser'"),
        ('known_hosts = "~nosuchuser/kh"\n', ":1: known_hosts", "no such user"),
        ("poll_interval = nan\n", ":1: poll_interval", "from 0.1 to 5"),
    ],
)
def test_wrong_types_name_path_line_and_key(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}: "), message
    assert says in message


def test_key_lines_follow_tables_and_skip_multiline_strings() -> None:
    from vfio_tui.config import key_lines

    text = '# c\n[keymap]\n"save-both" = "x"\n[pairs.lab]\nsource = """\na = 1\n"""\nsudo = true\n'
    lines = key_lines(text)
    assert lines["keymap.save-both"] == 3
    assert lines["pairs.lab"] == 4 and lines["pairs.lab.source"] == 5
    assert lines["pairs.lab.sudo"] == 8 and "pairs.lab.a" not in lines


# --- the keymap -------------------------------------------------------------------------

DEFAULTS = {"save": "s", "quit": "q", "next-pane": "tab", "help": "question_mark"}


def keymap_error(tmp_path: Path, text: str) -> str:
    from vfio_tui.config import check_keymap

    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        check_keymap(load_config(path), DEFAULTS, reserved={"ctrl+q": "quit"})
    return str(caught.value).removeprefix(str(path))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[keymap]\nsave = "q"\n', ":2: keymap.save: 'q' is also the key of 'quit'"),
        ('[keymap]\nhelp = "x"\nnext-pane = "q"\n', ":3: keymap.next-pane: 'q' is also"),
        ('[keymap]\nsave = "w"\nquit = "w"\n', ":3: keymap.quit: 'w' is also the key of 'save'"),
        ('[keymap]\nsave = "ctrl+q"\n', ":2: keymap.save: 'ctrl+q' is already quit's key"),
        ('[keymap]\nsavee = "w"\n', ":2: keymap.savee: no such binding id (known: help,"),
        ('[keymap]\nsave = ""\n', ":2: keymap.save: '' is not a key list"),
        ('[keymap]\nsave = "w,"\n', ":2: keymap.save: 'w,' is not a key list"),
    ],
)
def test_keymap_conflicts_unknown_ids_and_empty_keys_are_refused(
    tmp_path: Path, text: str, says: str
) -> None:
    assert keymap_error(tmp_path, text).startswith(says)


def test_a_good_keymap_passes(tmp_path: Path) -> None:
    from vfio_tui.config import check_keymap

    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nsave = "w,ctrl+s"\nquit = "s"\n')  # s moves from save to quit
    check_keymap(load_config(path), DEFAULTS)


def test_the_app_refuses_a_conflicting_keymap_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('poll_interval = 1.0\n[keymap]\nsave = "q"\n')
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    with pytest.raises(SystemExit) as caught:
        build_app([])
    assert caught.value.code == 2
    assert f"{path}:3: keymap.save: 'q' is also the key of 'quit'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "argv", "says"),
    [
        ("pairs = 5\n", [], ":1: pairs: tables like"),
        ('pairs = "x"\n', ["lab"], ":1: pairs: tables like"),
        ("", ["ssh://[::1", "sim://dst"], "IPv6"),
        ("", ["--theme", "nosuch"], "--theme: no theme called 'nosuch' (known: "),
        ('theme = "nosuch"\n', [], ":1: theme: no theme called 'nosuch'"),
        ("", ["--capture-dir", "~nosuchuser/x"], "no such user 'nosuchuser'"),
        ("", ["--known-hosts", "~nosuchuser/x"], "no such user 'nosuchuser'"),
        ('capture_dir = "~nosuchuser/x"\n', [], ":1: capture_dir: '~nosuchuser/x': no such user"),
        ("", ["--interval", "0.05"], "from 0.1 to 5"),
        ("", ["--interval", "nan"], "from 0.1 to 5"),
        ("", ["--timeout", "inf"], "more than 0 and at most 600"),
    ],
)
def test_bad_settings_are_messages_not_tracebacks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: str,
    argv: list[str],
    says: str,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config)
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    with pytest.raises(SystemExit) as caught:
        build_app(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    if says.startswith(":"):
        assert str(path) + says in err


def test_config_text_in_errors_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "conf\x1b[2J.toml"
    path.write_text(
        '[pairs."x\\u001b]0;t\\u0007"]\nsource = "sim://src"\ndestination = "sim://dst"\n'
    )
    monkeypatch.setenv("VFIO_TUI_CONFIG", str(path))
    with pytest.raises(SystemExit):
        build_app(["nowhere"])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "x\\x1b]0;t\\x07" in err
    path.write_text("poll_interval = 9\n")
    with pytest.raises(SystemExit):
        build_app([])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "conf\\x1b[2J.toml:1: poll_interval" in err
