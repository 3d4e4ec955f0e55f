"""Token answers over real HTTP on the wall clock: `expires_in` is the full lifetime, an integer.

The other sandbox tests freeze the clock, where `int(expires_at - now)` happens to be exact; on a running
clock a few microseconds pass between issuing a token and answering, and a truncated 7199.9999 said 7199.
Every platform's token answer, every grant type, is checked here against a uvicorn-served sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from loupe.sandbox import Clock
from loupe.sandbox.state import Sandbox

from . import test_sandbox_tiktok as tiktok
from . import test_sandbox_twitch as twitch
from . import test_sandbox_x as x
from . import test_sandbox_youtube as youtube
from .conftest import REDIRECT, first, live_server
from .test_sandbox_meta_oauth import GRAPH, fb_code, ig_short

FB_APP = {"client_id": "loupe-sandbox-instagram", "client_secret": "sandbox-secret-instagram"}


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the wall clock: time passes between issuing a token and answering


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    with live_server(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            yield c


async def test_meta_code_and_long_lived_exchanges(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    code = await fb_code(client, ig.id)
    short = await client.get(f"{GRAPH}/oauth/access_token", params={**FB_APP, "redirect_uri": REDIRECT, "code": code})
    assert short.json()["expires_in"] == 5_400
    exchange = {**FB_APP, "grant_type": "fb_exchange_token"}
    long = await client.get(
        f"{GRAPH}/oauth/access_token", params={**exchange, "fb_exchange_token": short.json()["access_token"]}
    )
    assert long.json()["expires_in"] == 5_183_944
    # Facebook-Login "refresh": the long-lived token exchanged again
    again = await client.get(
        f"{GRAPH}/oauth/access_token", params={**exchange, "fb_exchange_token": long.json()["access_token"]}
    )
    assert again.json()["expires_in"] == 5_183_944


async def test_instagram_login_exchange_and_refresh(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="MEDIA_CREATOR", page_id=None)
    short, _ = await ig_short(client, ig.id)
    long = await client.get(
        "/graph.instagram.com/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": FB_APP["client_secret"], "access_token": short},
    )
    assert long.json()["expires_in"] == 5_183_944
    sandbox.clock.advance(25 * 3600)  # refreshable once 24 h old
    refreshed = await client.get(
        "/graph.instagram.com/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": long.json()["access_token"]},
    )
    assert refreshed.status_code == 200 and refreshed.json()["expires_in"] == 5_183_944


async def test_tiktok_exchange_and_refresh(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await tiktok.login(client, tiktok.big(sandbox))
    assert (tok["expires_in"], tok["refresh_expires_in"]) == (7200, 15_552_000)
    form = {**tiktok.CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    new = (await client.post(f"{tiktok.API}/oauth/token/", data=form)).json()
    assert (new["expires_in"], new["refresh_expires_in"]) == (7200, 15_552_000)


async def test_youtube_exchange_and_refresh(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await youtube.login(client, youtube.big(sandbox))
    assert tok["expires_in"] == 3599
    form = {**youtube.CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    assert (await client.post(youtube.TOKEN, data=form)).json()["expires_in"] == 3599


@pytest.mark.parametrize(("api", "www"), [("api.x.com", "x.com"), ("api.twitter.com", "twitter.com")])
async def test_x_exchange_and_refresh(api: str, www: str, client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = await x.code_for(client, x.big(sandbox), auth=f"/{www}/i/oauth2/authorize")
    body = (await client.post(f"/{api}/2/oauth2/token", data=x.form(code), headers=x.BASIC)).json()
    assert body["expires_in"] == 7200
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "loupe-sandbox-twitter"}
    assert (await client.post(f"/{api}/2/oauth2/token", data=form, headers=x.BASIC)).json()["expires_in"] == 7200


async def test_twitch_exchange_refresh_and_app_token(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await twitch.login(client, twitch.big(sandbox))
    assert tok["expires_in"] == 14124
    form = {**twitch.CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    assert (await client.post("/id.twitch.tv/oauth2/token", data=form)).json()["expires_in"] == 14124
    app = {**twitch.CLIENT, "grant_type": "client_credentials"}
    assert (await client.post("/id.twitch.tv/oauth2/token", data=app)).json()["expires_in"] == 5_011_271


@pytest.mark.parametrize(
    ("platform", "lifetime"),
    [
        ("instagram", 5_183_944),
        ("facebook", 5_183_944),
        ("tiktok", 7200),
        ("youtube", 3599),
        ("twitter", 7200),
        ("twitch", 14124),
    ],
)
async def test_admin_tokens(platform: str, lifetime: int, client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    account = next(iter(sandbox.world.accounts[platform]))
    r = await client.post("/_sandbox/tokens", json={"platform": platform, "account": account})
    assert r.status_code == 201 and r.json()["expires_in"] == lifetime
