"""Host URLs: the forms people write, and clear refusals for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vfio_tui.model.hosturl import DEFAULT_DEBUGFS, HostUrl, Scheme, UrlError, parse_host_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sim://src", HostUrl(Scheme.SIM, "src")),
        ("sim://dst#0000:3b:00.2", HostUrl(Scheme.SIM, "dst", device="0000:3b:00.2")),
        ("local:///sys/kernel/debug", HostUrl(Scheme.LOCAL, "", root=DEFAULT_DEBUGFS)),
        ("local:///tmp/tree/src#x", HostUrl(Scheme.LOCAL, "", root="/tmp/tree/src", device="x")),
        ("ssh://prod-src", HostUrl(Scheme.SSH, "prod-src")),
        (
            "ssh://root@10.0.0.5:2222/mnt/debug#0000:3b:00.2",
            HostUrl(Scheme.SSH, "10.0.0.5", "/mnt/debug", "root", 2222, "0000:3b:00.2"),
        ),
        ("ssh://[::1]:22", HostUrl(Scheme.SSH, "[::1]", port=22)),
        (
            "ssh://h#83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
            HostUrl(Scheme.SSH, "h", device="83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"),
        ),
    ],
)
def test_accepted_forms(text: str, expected: HostUrl) -> None:
    url = parse_host_url(text)
    assert url == expected
    assert parse_host_url(str(url)) == url


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("src", "not a host URL"),
        ("sim://elsewhere", "sim://src and sim://dst"),
        ("local://sys/kernel/debug", "three slashes"),
        ("ssh://user:secret@host", "no passwords"),
        ("ssh://host:99999", "port"),
        ("ssh://host/../etc", "plain absolute path"),
        ("ssh://host#dev;rm -rf /", "no spaces"),
        ("ssh://host#dev$(reboot)", "not a device name"),
        ("ssh://host#../../etc", "not a device name"),
        ("ssh://ho'st", "not a host name"),
        ("ftp://host", "unknown scheme"),
    ],
)
def test_refusals_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(UrlError, match=None) as caught:
        parse_host_url(text)
    assert says in str(caught.value)


@given(st.text(max_size=60))
def test_anything_parses_or_fails_with_url_error(text: str) -> None:
    try:
        url = parse_host_url(text)
    except UrlError:
        return
    # Whatever is accepted carries no character a shell would treat specially.
    for part in (url.host, url.root, url.user or "", url.device or ""):
        assert not set(part) & set(" \t\n'\"`$;&|<>(){}*?!\\")
