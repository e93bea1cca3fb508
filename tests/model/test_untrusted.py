"""Host text made safe: nothing a terminal acts on survives `printable()`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vfio_tui.model.untrusted import is_printable, printable


def test_escape_sequences_are_written_out() -> None:
    assert printable("a\x1b]0;pwned\x07b") == "a\\x1b]0;pwned\\x07b"
    assert printable("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H"


def test_bytes_that_are_not_utf8_are_shown_as_hex() -> None:
    assert printable(b"ok\xff\n") == "ok\\xff\\n"
    assert printable("a\\b") == "a\\\\b"


def test_bidi_overrides_and_c1_controls_are_escaped() -> None:
    assert printable("x\u202ey\x9bz") == "x\\u202ey\\x9bz"


def test_newlines_can_be_kept_and_length_limited() -> None:
    assert printable("a\nb", keep_newlines=True) == "a\nb"
    assert printable("abcdef", limit=3) == "abc…"


def test_markup_text_is_left_as_text() -> None:
    # markup safety is the caller's (Text objects); printable() keeps the characters
    assert printable("[@click=app.quit]y") == "[@click=app.quit]y"


@given(st.one_of(st.text(), st.binary()))
def test_nothing_hidden_survives(text: str | bytes) -> None:
    shown = printable(text)
    assert is_printable(shown)
    assert "\n" not in shown and "\x1b" not in shown
