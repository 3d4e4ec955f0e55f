"""The platform sandbox's server-rendered pages in Chromium, at 360 and 1280 px, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.browser.support import screenshot
from tests.live import LiveSandbox, live_sandbox

REDIRECT = "https://example.test/cb"
AUTHORIZE = "/www.facebook.com/v23.0/dialog/oauth"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LiveSandbox]:
    with live_sandbox() as server:
        yield server


async def test_admin_index(page: Page, sandbox: LiveSandbox) -> None:
    response = await page.goto(f"{sandbox.url}/_sandbox/")
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Loupe platform sandbox")
    await expect(page.get_by_text("seed 42")).to_be_visible()
    await screenshot(page, "sandbox-index")


async def test_facebook_authorize_cancel_redirects_with_access_denied(page: Page, sandbox: LiveSandbox) -> None:
    query = {
        "client_id": "loupe-sandbox-instagram",
        "redirect_uri": REDIRECT,
        "state": "x",
        "response_type": "code",
        "scope": "instagram_basic",
    }
    response = await page.goto(f"{sandbox.url}{AUTHORIZE}?{urlencode(query)}")
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Facebook")
    cancel = page.get_by_role("button", name="Cancel")
    await expect(cancel).to_be_visible()
    await screenshot(page, "sandbox-facebook-authorize")

    # page.route never sees the target of a redirect (Playwright documents it), so the redirect is observed as
    # the browser's request; the browser resolves no host but loopback (see `browser`): no network is used.
    async with page.expect_request(lambda request: request.url.startswith(f"{REDIRECT}?")) as sent:
        await cancel.click()
    request = await sent.value

    assert request.is_navigation_request()
    assert request.redirected_from is not None and request.redirected_from.method == "POST"
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    params = parse_qs(parts.query)
    assert params["error"] == ["access_denied"]
    assert params["state"] == ["x"]
    assert "code" not in params
