"""The headless-chromium fixture itself, on a small local page (tests/fixtures/browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fixtures.browser import Browser, alive, browser, key_events, png_size, running_browser

__all__ = ["browser"]  # the fixture, used by name below

PAGE = """<!doctype html>
<html><head><title>loading</title>
<link rel="stylesheet" href="http://fonts.example.com/css?family=Roboto">
</head>
<body style="background: rgb(0, 128, 0)">
<div id="keys"></div>
<img src="OUTSIDE/pixel.png">
<script>
  const keys = [];
  document.addEventListener("keydown", (event) => {
    keys.push((event.ctrlKey ? "ctrl+" : "") + event.key + ":" + event.keyCode);
    document.getElementById("keys").textContent = keys.join(" ");
  });
  fetch("OUTSIDE/beacon").catch(() => {});
  console.error("a console error from the page");
  document.title = "ready";
</script>
</body></html>
"""


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, list[str]]]:
    """The page's server, and a second loopback server the page must never reach."""
    outside_hits: list[str] = []

    async def outside(request: web.Request) -> web.Response:
        outside_hits.append(request.path)
        return web.Response(text="")

    outside_app = web.Application()
    outside_app.router.add_get("/{tail:.*}", outside)
    outside_runner, outside_url = await start(outside_app)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE.replace("OUTSIDE", outside_url), content_type="text/html")

    page_app = web.Application()
    page_app.router.add_get("/", page)
    page_runner, page_url = await start(page_app)
    yield page_url, outside_hits
    await page_runner.cleanup()
    await outside_runner.cleanup()


async def test_loads_a_page_presses_keys_and_takes_a_screenshot(
    browser: Browser, servers: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, _ = servers
    browser.allow(url)
    await browser.goto(url + "/")
    assert await browser.wait_for("document.title === 'ready'")

    await browser.press("m", "M", "?", "enter", "escape", "ctrl+p")
    seen = await browser.wait_for(
        "(t => t.split(' ').length >= 6 && t)(document.getElementById('keys').textContent)"
    )
    assert seen.split() == ["m:77", "M:77", "?:191", "Enter:13", "Escape:27", "ctrl+p:80"]

    data = await browser.screenshot(tmp_path / "page.png")
    assert (tmp_path / "page.png").read_bytes() == data
    assert png_size(data) == (browser.width, browser.height)


async def test_requests_to_other_hosts_are_blocked_and_listed(
    browser: Browser, servers: tuple[str, list[str]]
) -> None:
    url, outside_hits = servers
    browser.allow(url)
    await browser.goto(url + "/")
    await browser.wait_for("document.title === 'ready'")
    # The image, the beacon and the stylesheet were all asked for, and all refused.
    for part in ("/pixel.png", "/beacon", "fonts.example.com"):

        def refused(part: str = part) -> bool:
            return any(part in blocked for blocked in browser.blocked)

        await browser.until(refused, f"{part} blocked")
    assert outside_hits == [], "a request reached a host the test did not allow"
    assert any(r.url.startswith(url) for r in browser.requests)
    assert any("a console error from the page" in e for e in browser.console_errors)


async def test_a_page_not_allowed_is_not_loaded(servers: tuple[str, list[str]]) -> None:
    url, _ = servers
    async with running_browser() as fresh:
        with pytest.raises(AssertionError, match="failed"):
            await fresh.goto(url + "/")
        assert fresh.blocked == [url + "/"]


async def test_close_kills_the_browser_and_its_children() -> None:
    async with running_browser() as running:
        await running.goto("about:blank")
        process = running.process
        profile = running.profile
        assert alive(process.pid)
    assert running.pids, "chromium started no child process: is this the real browser?"
    assert not alive(process.pid)
    assert [pid for pid in running.pids if alive(pid)] == []
    assert not profile.exists()


def test_key_events_name_keys_like_the_app() -> None:
    down, up = key_events("ctrl+p")
    assert (down["type"], down["modifiers"], "text" in down) == ("rawKeyDown", 2, False)
    assert up["type"] == "keyUp"
    with pytest.raises(ValueError, match="unknown key"):
        key_events("hyper-space")
