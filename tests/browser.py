"""Driving a real browser against a live server: Debian's Chromium through Playwright, never the internet.

`live_server(app)` runs an ASGI app under uvicorn on a free localhost port in its own thread and event
loop; `chromium()` launches /usr/bin/chromium (Playwright's own browser download is not used); `open_page`
gives a page that may reach only localhost, recording what it tried elsewhere and the errors its scripts
raised.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Where browser tests save what they saw (screenshots); git-ignored.
ARTIFACTS = Path(__file__).parent / "artifacts"


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """The app under uvicorn on a free localhost port, in its own thread and event loop; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


@dataclass
class Browsing:
    """A Chromium page, the URLs off localhost it tried (and was refused), and the errors its scripts raised."""

    page: Any
    context: Any
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def open_page(browser: Any, **context_options: Any) -> AsyncIterator[Browsing]:
    """A fresh browser context (its own cookies and storage) and page that may reach only localhost."""
    from playwright.async_api import Route

    context = await browser.new_context(**context_options)
    browsing = Browsing(page=None, context=context)

    async def only_localhost(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            browsing.blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_localhost)
    try:
        browsing.page = await context.new_page()
        browsing.page.on("pageerror", lambda exc: browsing.errors.append(str(exc)))
        yield browsing
    finally:
        await context.close()
