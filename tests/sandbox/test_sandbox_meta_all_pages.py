"""Facebook Login's "All my Pages and Instagram accounts": one grant, every Page, every linked IG account."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from loupe.connectors import PlatformsConfig, get_connector
from loupe.sandbox.platforms.meta_oauth import ALL_PAGES
from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, authorize, callback, live_server

FB = "/www.facebook.com/v23.0/dialog/oauth"


async def test_all_pages_is_the_first_choice(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    creator = sandbox.world.creator("creator-07")
    assert creator is not None
    query = {"client_id": "loupe-sandbox-instagram", "redirect_uri": REDIRECT, "login_hint": creator.id}
    page = (await client.get(FB, params=query)).text
    radios = re.findall(r'name="account" value="([^"]+)"', page)
    assert radios[0] == creator.fb_user_id and len(radios) == 1 + 3 + 2  # all, 3 IG accounts, 2 Pages
    assert ALL_PAGES in page and "2 Page(s), 2 with Instagram" in page
    no_pages = sandbox.world.creator("creator-05")  # professional IG, no Page: nothing to grant "all" of
    assert no_pages is not None and not no_pages.accounts.get("facebook")
    page = (await client.get(FB, params={**query, "login_hint": no_pages.id})).text
    assert ALL_PAGES not in page


async def test_all_pages_grant_on_the_facebook_app_stays_facebook(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    creator = sandbox.world.creators[1]
    query = {"client_id": "loupe-sandbox-facebook", "redirect_uri": REDIRECT, "scope": "pages_show_list"}
    code = callback(await authorize(client, FB, query, creator.fb_user_id))[0]["code"]
    grant = sandbox.tokens.codes[code]
    assert grant.platform == "facebook" and grant.user_id == creator.fb_user_id


async def connect_all(app: Any, creator_id: str) -> list[Any]:
    with live_server(app) as url:
        async with httpx.AsyncClient(timeout=10) as http:
            sandbox: Sandbox = app.state.sandbox
            creator = sandbox.world.creator(creator_id)
            assert creator is not None
            conn = get_connector("instagram", PlatformsConfig.for_sandbox(url), http, instagram_login="facebook")
            auth = conn.authorization_url(REDIRECT, extra={"login_hint": creator_id})
            query = dict(parse_qsl(urlsplit(auth.url).query))
            response = await authorize(http, auth.url.split("?")[0], query, creator.fb_user_id)
            location = response.headers["location"]
            grant = sandbox.tokens.codes[callback(response)[0]["code"]]
            assert grant.platform == "instagram" and grant.user_id == creator.fb_user_id
            result = conn.parse_callback(location)
            token = await conn.upgrade_token(await conn.exchange_code(result.code or "", REDIRECT, None))
            return list(await conn.list_accounts(token))


async def test_instagram_connector_sees_every_linked_account(app: Any, sandbox: Sandbox) -> None:
    for creator_id, linked in (("creator-02", 2), ("creator-07", 2)):
        creator = sandbox.world.creator(creator_id)
        assert creator is not None
        accounts = await connect_all(app, creator_id)
        eligible = {a.id for a in accounts if a.eligible}
        expected = {a.id for a in creator.accounts["instagram"] if a.page_id}
        assert len(eligible) == linked and eligible == expected
