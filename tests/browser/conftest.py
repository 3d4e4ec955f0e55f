"""Real-browser tests: Debian's Chromium driven by (async) Playwright, against servers over real HTTP.

- `browser` (session): one headless Chromium per test session (per xdist worker). Without Chromium the
  tests that use it are skipped outside CI and fail in CI (CI=true), with `support.MISSING`.
- `make_page(width, height=800)` (function): a factory of pages, each in its own fresh browser context
  (no shared cookies or storage), closed after the test.
- `page` (function): a page parametrized over `support.WIDTHS` (360 and 1280 px): a test using it runs
  once per width, ids `[360px]` and `[1280px]`.
- `support.screenshot(page, name)`: a full-page PNG at tests/artifacts/{name}-{width}px.png.
- `live_stack` (from tests/live.py): the api and the platform sandbox over real HTTP.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.browser.support import HEIGHT, MISSING, WIDTHS, chromium_path, in_ci
from tests.live import live_stack

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

__all__ = ["browser", "live_stack", "make_page", "page"]

TIMEOUT_MS = 10_000  # Playwright's default is 30 s: fail sooner


def _unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI runs the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        _unavailable(MISSING)
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is missing: run `make install`")
    # No network: every host name but loopback resolves to "not found" in the browser itself.
    args = ["--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield chromium
        await chromium.close()


@pytest.fixture
async def make_page(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    contexts: list[BrowserContext] = []

    async def make(width: int, height: int = HEIGHT) -> Page:
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-US",
            timezone_id="UTC",
            reduced_motion="reduce",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
async def page(request: pytest.FixtureRequest, make_page: Callable[..., Awaitable[Page]]) -> Page:
    return await make_page(request.param)
