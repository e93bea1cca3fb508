"""Fuzz: host URLs, from the command line and the config file."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from vfio_tui.model.hosturl import DEFAULT_DEBUGFS, HostUrl, Scheme, UrlError, parse_host_url

PIECES = ["ssh://", "sim://", "local://", "[", "]", ":", "@", "/", "#", "%", "..", "::1", "zz"]
urlish = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=12).map("".join)


@FUZZ
@given(urlish | st.text(max_size=80))
@example("ssh://[::1")  # what fuzzing found: urllib's own ValueError got out
@example("ssh://[zz]:22")
def test_anything_is_a_url_or_a_url_error(text: str) -> None:
    try:
        url = parse_host_url(text)
    except UrlError as exc:
        assert str(exc)
    else:
        assert parse_host_url(str(url)) == url


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.lists(label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
users = st.from_regex(r"[a-z_][a-z0-9_-]{0,15}", fullmatch=True)
roots = st.lists(st.from_regex(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,8}", fullmatch=True), max_size=4)
devices = st.one_of(
    st.from_regex(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", fullmatch=True),
    st.uuids().map(str),
)


@st.composite
def valid_urls(draw: st.DrawFn) -> tuple[str, HostUrl]:
    device = draw(st.none() | devices)
    fragment = f"#{device}" if device else ""
    scheme = draw(st.sampled_from(Scheme))
    if scheme is Scheme.SIM:
        host = draw(st.sampled_from(["src", "dst"]))
        return f"sim://{host}{fragment}", HostUrl(scheme, host, device=device)
    parts = [p for p in draw(roots) if p not in (".", "..")]
    root = "/" + "/".join(parts) if parts else DEFAULT_DEBUGFS
    if scheme is Scheme.LOCAL:
        return f"local://{root}{fragment}", HostUrl(scheme, "", root=root, device=device)
    host, user = draw(hosts), draw(st.none() | users)
    port = draw(st.none() | st.integers(1, 65535))
    text = f"ssh://{user + '@' if user else ''}{host}{f':{port}' if port else ''}{root}{fragment}"
    return text, HostUrl(scheme, host, root=root, user=user, port=port, device=device)


@FUZZ
@given(valid_urls())
def test_every_valid_url_parses_to_what_it_says(item: tuple[str, HostUrl]) -> None:
    text, expected = item
    assert parse_host_url(text) == expected
