"""Text that came from a host or a user, made safe to show.

Device names, file contents, remote stderr, paths: none of it may reach a
terminal raw (an escape sequence could set the title or clear the screen) or be
parsed as Textual/Rich markup. `printable()` is the one place that turns such
text into something safe to display; markup safety is the caller's part (build
`rich.text.Text`, never an f-string passed as markup).
"""

from __future__ import annotations

import unicodedata

# Unicode categories that are never shown as themselves: controls (C0, C1, DEL),
# format characters (bidi overrides, zero-width joiners), unassigned, surrogates,
# private use, and line/paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cn", "Cs", "Co", "Zl", "Zp"})

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str | bytes, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """`text` with every character a terminal would act on written as an escape.

    Bytes are decoded as UTF-8 with undecodable bytes shown as `\\xNN`. A backslash
    is doubled so an escape in the output always means an escaped character.
    `keep_newlines` keeps `\\n` as a line break (for multi-line file contents).
    `limit` cuts the result to that many characters, ending with `…`.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    out: list[str] = []
    size = 0
    for ch in text:
        if ch == "\n" and keep_newlines:
            piece = ch
        elif ch in _NAMED or unicodedata.category(ch) in _HIDDEN:
            piece = _escape(ch)
        else:
            piece = ch
        if limit is not None and size + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def is_printable(text: str) -> bool:
    """True when `text` holds nothing that `printable()` would escape (newlines aside)."""
    return all(ch == "\n" or unicodedata.category(ch) not in _HIDDEN for ch in text)
