"""The creator pages under /connect in Chromium, against the live stack (the api with its own lifespan and the
platform sandbox, over real HTTP): connecting through the platforms' consent pages, the Instagram account
choice, a denied consent, connect once across workspaces, app removal and data deletion at the platform,
screenshots at 360 and 1280 px and what a keyboard or screen-reader user would notice."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from loupe.sandbox.world import Account
from tests.browser.support import screenshot
from tests.conftest import Tenant
from tests.live import LiveStack

MakePage = Callable[..., Awaitable[Page]]
MakeTenant = Callable[..., Awaitable[Tenant]]
PLATFORM_NAMES = ("Instagram", "Facebook", "TikTok", "YouTube", "X", "Twitch")


@dataclass
class Brand:
    """A workspace seen through its API over real HTTP (the live api)."""

    name: str
    tenant: Tenant
    http: httpx.AsyncClient

    async def invite(self, name: str = "Ada", email: str = "ada@example.com") -> dict[str, Any]:
        response = await self.http.post("/v1/invites", json={"name": name, "email": email}, headers=self.tenant.write)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params, headers=self.tenant.read)
        assert response.status_code == 200, response.text
        return response.json()

    async def accounts(self) -> list[tuple[str, str, str]]:
        rows = (await self.get("/v1/connected-accounts"))["data"]
        return [(r["platform"], r["platform_user_id"], r["status"]) for r in rows]

    async def invite_status(self, invite_id: str) -> str:
        return (await self.get(f"/v1/invites/{invite_id}"))["status"]  # type: ignore[no-any-return]


@pytest.fixture
async def api(live_stack: LiveStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.api, timeout=10) as client:
        yield client


@pytest.fixture
def make_brand(make_tenant: MakeTenant, api: httpx.AsyncClient) -> Callable[[str], Awaitable[Brand]]:
    async def make(name: str) -> Brand:
        return Brand(name, await make_tenant(name), api)

    return make


@pytest.fixture
async def brand(make_brand: Callable[[str], Awaitable[Brand]]) -> Brand:
    return await make_brand("Acme Studio")


def account(stack: LiveStack, platform: str, creator: int = 0, n: int = 0) -> Account:
    return stack.state.world.creators[creator].accounts[platform][n]


def handle(ig: Account) -> re.Pattern[str]:
    """The accessible name of an account's radio: its @username, then the Page (`@ada` must not match `@ada.2`)."""
    return re.compile(rf"^@{re.escape(ig.username)}(\s|$)")


async def sandbox_remove(stack: LiveStack, platform: str, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.sandbox, timeout=10) as client:
        response = await client.post(f"/_sandbox/apps/{platform}/remove", json=body)
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    assert [call.get("status") for call in done["calls"]] == [200] * len(done["calls"]), done["calls"]
    return done


# ----- what a keyboard or screen-reader user would notice -----

FOCUSABLE = """() => {
  const found = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])'
  )].filter((e) => !e.disabled);
  const stops = [];
  const groups = new Set();
  for (const e of found) {
    if (e.type === 'radio') {  // a radio group is one Tab stop: its checked radio (or its first)
      const key = (e.form ? e.form.action : '') + '|' + e.name;
      if (groups.has(key)) continue;
      groups.add(key);
      const group = found.filter((x) => x.type === 'radio' && x.name === e.name && x.form === e.form);
      stops.push(group.find((x) => x.checked) || group[0]);
    } else {
      stops.push(e);
    }
  }
  stops.forEach((e, i) => e.setAttribute('data-tab-stop', String(i)));
  const name = (e) => (e.labels && e.labels.length ? e.labels[0].innerText : e.innerText || e.value || e.tagName);
  return stops.map((e) => name(e).trim().replace(/\\s+/g, ' '));
}"""

FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return {
    stop: e.getAttribute('data-tab-stop'),
    outline: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    inside: box.left >= 0 && box.right <= window.innerWidth && box.width > 0 && box.height > 0,
  };
}"""

LABELS = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map((e) => e.outerHTML)"""


async def audit(page: Page) -> None:
    """No horizontal scrolling, labelled inputs, one h1, `lang` set, Tab visits every control in document order
    and the focused control has a visible outline."""
    viewport = page.viewport_size
    assert viewport is not None
    scroll_width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= viewport["width"], f"{page.url} scrolls sideways: {scroll_width} px wide"
    assert await page.evaluate("document.documentElement.lang"), "no lang on <html>"
    await expect(page.locator("h1")).to_have_count(1)
    await expect(page.locator("h1")).not_to_be_empty()
    unlabelled = await page.evaluate(LABELS)
    assert unlabelled == [], f"inputs without a label: {unlabelled}"

    stops: list[str] = await page.evaluate(FOCUSABLE)
    assert stops, "nothing to focus"
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for expected, name in enumerate(stops):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        assert focused["stop"] == str(expected), f"Tab #{expected + 1} should reach {name!r}, got {focused}"
        assert focused["outline"] != "none" and focused["width"] >= 2, f"{name!r} has no visible focus: {focused}"
        assert focused["inside"], f"{name!r} is focused out of sight: {focused}"


# ----- flows -----


async def open_invite(page: Page, link: str, brand: Brand) -> None:
    response = await page.goto(link)
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"connect your accounts to {brand.name}")


async def start(page: Page, platform_name: str, brand: str) -> None:
    await page.get_by_role("button", name=f"Connect {platform_name}", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(brand)  # the sandbox's consent page


async def connect_tiktok(page: Page, link: str, brand: Brand) -> None:
    await open_invite(page, link, brand)
    await start(page, "TikTok", "TikTok")
    await page.get_by_role("button", name="Allow").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("TikTok is connected")


async def test_connect_instagram_choosing_the_second_account_then_delete_the_data(
    live_stack: LiveStack, page: Page, brand: Brand
) -> None:
    sent = await brand.invite()
    assert sent["link"].startswith(f"{live_stack.api}/connect/")
    person = live_stack.state.world.creators[1]
    first, second = person.accounts["instagram"]

    await open_invite(page, sent["link"], brand)
    await expect(page.locator("header")).to_contain_text(f"{brand.name} uses Loupe")
    cards = (
        page.get_by_role("region", name="Connect an account")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", level=3))
    )
    await expect(cards.get_by_role("heading", level=3)).to_have_text(list(PLATFORM_NAMES))
    for name in PLATFORM_NAMES:
        card = cards.filter(has=page.get_by_role("heading", name=name, exact=True))
        await expect(card).to_contain_text(f"{brand.name} will be able to:")
        await expect(card).to_contain_text("It will not be able to:")
        await expect(card).to_contain_text("post, comment, like or message on your behalf")
        await expect(card.get_by_role("button", name=f"Connect {name}", exact=True)).to_be_visible()
    await screenshot(page, "creator-invite")
    await audit(page)

    await start(page, "Instagram", "Facebook")
    await page.get_by_role("link", name=person.id, exact=True).click()  # "Not you? Switch creator"
    await expect(page.get_by_text(f"({person.id})")).to_be_visible()
    await page.get_by_role("radio", name="All my Pages and Instagram accounts").check()
    await page.get_by_role("button", name="Allow").click()

    await expect(page).to_have_url(re.compile(rf"^{re.escape(live_stack.api)}/connect/choose/"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Which Instagram account do you want to connect?")
    radios = page.get_by_role("group", name="Your Instagram accounts").get_by_role("radio")
    await expect(radios).to_have_count(2)
    await expect(page.get_by_role("radio", name=handle(first))).to_be_checked()
    assert await brand.accounts() == []  # nothing is connected before the choice
    await screenshot(page, "creator-choose")
    await audit(page)
    await page.get_by_role("radio", name=handle(second)).check()
    await page.get_by_role("button", name="Connect this account").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Instagram is connected")
    await expect(page.get_by_role("status")).to_contain_text(second.username)
    await screenshot(page, "creator-done")
    await audit(page)
    assert await brand.accounts() == [("instagram", second.id, "active")]
    assert await brand.invite_status(sent["id"]) == "active"

    await page.get_by_role("link", name="Back to your accounts").click()
    connected = page.get_by_role("region", name="Your connected accounts")
    await expect(connected).to_contain_text(f"Instagram · {second.username}")
    await expect(connected).to_contain_text("Status: Connected")
    await screenshot(page, "creator-invite-connected")
    await audit(page)

    # The creator removes the app at Facebook and asks for their data to be deleted: Meta calls our webhooks.
    removed = await sandbox_remove(live_stack, "instagram", account_id=person.fb_user_id, delete_data=True)
    deletion = removed["data_deletion"]
    assert deletion is not None and deletion["url"].startswith(f"{live_stack.api}/connect/deletion/")
    response = await page.goto(deletion["url"])
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your data-deletion request")
    await expect(page.locator("main")).to_contain_text(f"Your request {deletion['confirmation_code']} is complete")
    await expect(page.locator("main")).to_contain_text("personal data of 1 account(s)")
    await screenshot(page, "creator-data-deletion")
    await audit(page)
    assert await brand.accounts() == []


async def test_denied_consent_shows_a_friendly_page_and_is_recorded(
    live_stack: LiveStack, page: Page, brand: Brand
) -> None:
    sent = await brand.invite()
    await open_invite(page, sent["link"], brand)
    await start(page, "TikTok", "TikTok")
    await page.get_by_role("button", name="Cancel").click()

    await expect(page).to_have_url(re.compile(rf"^{re.escape(live_stack.api)}/connect/callback/tiktok\?"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("You did not allow access")
    await expect(page.get_by_role("alert")).to_contain_text("nothing was shared")
    retry = page.get_by_role("button", name="Try TikTok again")
    await expect(retry).to_be_visible()
    await screenshot(page, "creator-failed")
    await audit(page)
    failures = (await brand.get("/v1/connection-failures", invite_id=sent["id"]))["data"]
    assert [(f["platform"], f["reason"]) for f in failures] == [("tiktok", "access_denied")]
    assert await brand.accounts() == []
    assert await brand.invite_status(sent["id"]) == "invited"

    await retry.click()  # straight back to the platform's consent page
    await expect(page.get_by_role("heading", level=1)).to_have_text("TikTok")


async def test_join_page_makes_an_invite(live_stack: LiveStack, page: Page, brand: Brand) -> None:
    url = (await brand.get("/v1/workspace/connect-link"))["url"]
    assert url.startswith(f"{live_stack.api}/connect/w/")
    response = await page.goto(url)
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Connect your accounts to {brand.name}")
    await screenshot(page, "creator-join")
    await audit(page)

    await page.get_by_label("Your name").fill("Grace Hopper")
    await page.get_by_label("Your email").fill("grace@example")  # the browser accepts it, the server does not
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_have_text("Enter your name and a valid email address.")
    await expect(page.get_by_label("Your name")).to_have_value("Grace Hopper")  # what was typed is kept
    await screenshot(page, "creator-join-error")
    await audit(page)
    assert (await brand.get("/v1/invites"))["data"] == []

    await page.get_by_label("Your email").fill("grace@example.com")
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(live_stack.api)}/connect/[^/]+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Hi Grace Hopper, connect your accounts to {brand.name}"
    )
    [made] = (await brand.get("/v1/invites"))["data"]
    assert (made["name"], made["email"], made["status"]) == ("Grace Hopper", "grace@example.com", "invited")
    assert page.url == made["link"]


async def test_tiktok_connects_with_javascript_disabled(live_stack: LiveStack, browser: Browser, brand: Brand) -> None:
    sent = await brand.invite()
    context = await browser.new_context(viewport={"width": 360, "height": 800}, java_script_enabled=False)
    try:
        context.set_default_timeout(10_000)
        page = await context.new_page()
        await connect_tiktok(page, sent["link"], brand)
    finally:
        await context.close()
    assert await brand.accounts() == [("tiktok", account(live_stack, "tiktok").id, "active")]
    assert await brand.invite_status(sent["id"]) == "active"


async def test_connect_once_shares_with_another_workspace(
    live_stack: LiveStack, make_page: MakePage, make_brand: Callable[[str], Awaitable[Brand]]
) -> None:
    a, b = await make_brand("Brand A"), await make_brand("Brand B")
    invite_a, invite_b = await a.invite(), await b.invite()
    tiktok = account(live_stack, "tiktok")
    offer = "Use accounts you already connected"

    creator = await make_page(360)
    await connect_tiktok(creator, invite_a["link"], a)

    stranger = await make_page(360)  # another browser, without the creator-session cookie
    await open_invite(stranger, invite_b["link"], b)
    await expect(stranger.get_by_role("heading", name=offer)).to_have_count(0)

    await open_invite(creator, invite_b["link"], b)
    section = creator.get_by_role("region", name=offer)
    await expect(section.get_by_role("checkbox", name=f"TikTok · {tiktok.username}")).to_be_checked()
    await audit(creator)
    await section.get_by_role("button", name="Share with Brand B").click()
    await expect(creator.get_by_role("heading", level=1)).to_have_text("TikTok is connected")

    assert await b.accounts() == [("tiktok", tiktok.id, "active")]
    assert await b.invite_status(invite_b["id"]) == "active"
    assert await a.accounts() == [("tiktok", tiktok.id, "active")]
    await open_invite(creator, invite_b["link"], b)  # shared already: no longer offered
    await expect(creator.get_by_role("heading", name=offer)).to_have_count(0)


async def test_app_removed_at_tiktok_then_reconnected(live_stack: LiveStack, make_page: MakePage, brand: Brand) -> None:
    sent = await brand.invite()
    tiktok = account(live_stack, "tiktok")
    page = await make_page(360)
    await connect_tiktok(page, sent["link"], brand)

    removed = await sandbox_remove(live_stack, "tiktok", account_id=tiktok.id)
    assert removed["revoked"] >= 1
    assert await brand.accounts() == [("tiktok", tiktok.id, "revoked")]
    assert await brand.invite_status(sent["id"]) == "action_needed"

    await open_invite(page, sent["link"], brand)
    connected = page.get_by_role("region", name="Your connected accounts")
    await expect(connected).to_contain_text("Status: Access removed: connect it again")
    await screenshot(page, "creator-invite-revoked")
    await start(page, "TikTok", "TikTok")
    await page.get_by_role("button", name="Allow").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("TikTok is connected")
    assert await brand.accounts() == [("tiktok", tiktok.id, "active")]
    assert await brand.invite_status(sent["id"]) == "active"
