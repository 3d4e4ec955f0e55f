"""Meta OAuth fidelity: fragments, single-use codes, long-lived tokens, IG refresh rules, debug_token."""

from __future__ import annotations

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, authorize, callback, first

FB = "/www.facebook.com/v23.0/dialog/oauth"
IG = "/www.instagram.com/oauth/authorize"
GRAPH = "/graph.facebook.com/v23.0"
IG_SCOPES = "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement"


def fb_query(state: str = "s1", scope: str = IG_SCOPES, creator: str | None = None) -> dict[str, str]:
    q = {
        "client_id": "loupe-sandbox-instagram",
        "redirect_uri": REDIRECT,
        "state": state,
        "response_type": "code",
        "scope": scope,
    }
    return {**q, "login_hint": creator} if creator else q


async def fb_code(client: httpx.AsyncClient, account: str, creator: str | None = None) -> str:
    query, fragment = callback(await authorize(client, FB, fb_query(creator=creator), account))
    assert fragment == "_=_"
    return query["code"]


async def fb_token(client: httpx.AsyncClient, account: str, long: bool = True) -> str:
    code = await fb_code(client, account)
    r = await client.get(
        f"{GRAPH}/oauth/access_token",
        params={
            "client_id": "loupe-sandbox-instagram",
            "client_secret": "sandbox-secret-instagram",
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert r.status_code == 200, r.text
    short = r.json()["access_token"]
    if not long:
        return short  # type: ignore[no-any-return]
    r = await client.get(
        f"{GRAPH}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "loupe-sandbox-instagram",
            "client_secret": "sandbox-secret-instagram",
            "fb_exchange_token": short,
        },
    )
    return r.json()["access_token"]  # type: ignore[no-any-return]


async def test_facebook_dialog_lists_accounts_and_redirects_with_fragment(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    creator = sandbox.world.creators[1]  # two Instagram accounts
    page = await client.get(FB, params=fb_query(creator=creator.id))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for acct in creator.accounts["instagram"]:
        assert f'value="{acct.id}"' in page.text
    assert '<form method="post"' in page.text and 'value="approve"' in page.text and 'value="deny"' in page.text
    query, fragment = callback(
        await client.post(
            FB, params=fb_query(), data={"account": creator.accounts["instagram"][1].id, "decision": "approve"}
        )
    )
    assert fragment == "_=_" and query["state"] == "s1" and query["code"]


async def test_facebook_dialog_deny(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    query, fragment = callback(await authorize(client, FB, fb_query(), ig.id, decision="deny"))
    assert fragment == "_=_"
    assert query == {
        "error": "access_denied",
        "error_code": "200",
        "error_description": "Permissions error",
        "error_reason": "user_denied",
        "state": "s1",
    }


async def test_dialog_rejects_unknown_client(client: httpx.AsyncClient) -> None:
    r = await client.get(FB, params={**fb_query(), "client_id": "nope"})
    assert r.status_code == 400 and "does not exist" in r.text


async def test_codes_are_single_use_and_bound_to_redirect(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    code = await fb_code(client, ig.id)
    params = {
        "client_id": "loupe-sandbox-instagram",
        "client_secret": "sandbox-secret-instagram",
        "redirect_uri": REDIRECT,
        "code": code,
    }
    bad_uri = await client.get(f"{GRAPH}/oauth/access_token", params={**params, "redirect_uri": REDIRECT + "x"})
    assert bad_uri.status_code == 400  # consumed by the failed attempt too, as the real one does
    code = await fb_code(client, ig.id)
    ok = await client.get(f"{GRAPH}/oauth/access_token", params={**params, "code": code})
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    again = await client.get(f"{GRAPH}/oauth/access_token", params={**params, "code": code})
    err = again.json()["error"]
    assert again.status_code == 400 and err["code"] == 100 and err["error_subcode"] == 36009
    assert err["type"] == "OAuthException" and "fbtrace_id" in err


async def test_wrong_secret_refused(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    code = await fb_code(client, ig.id)
    r = await client.get(
        f"{GRAPH}/oauth/access_token",
        params={
            "client_id": "loupe-sandbox-instagram",
            "client_secret": "wrong",
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == 1


async def test_long_lived_exchange(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    short = await fb_token(client, ig.id, long=False)
    r = await client.get(
        f"{GRAPH}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "loupe-sandbox-instagram",
            "client_secret": "sandbox-secret-instagram",
            "fb_exchange_token": short,
        },
    )
    body = r.json()
    assert body["expires_in"] == 5_183_944 and body["token_type"] == "bearer" and body["access_token"] != short
    sandbox.clock.advance(3 * 3600)  # the short-lived token has expired: it cannot be exchanged any more
    r = await client.get(
        f"{GRAPH}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "loupe-sandbox-instagram",
            "client_secret": "sandbox-secret-instagram",
            "fb_exchange_token": short,
        },
    )
    assert r.json()["error"]["code"] == 190 and r.json()["error"]["error_subcode"] == 463


async def test_debug_token(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await fb_token(client, ig.id)
    r = await client.get(
        f"{GRAPH}/debug_token",
        params={"input_token": token, "access_token": "loupe-sandbox-instagram|sandbox-secret-instagram"},
    )
    data = r.json()["data"]
    assert data["is_valid"] is True and data["type"] == "USER" and "instagram_basic" in data["scopes"]
    assert data["expires_at"] - data["issued_at"] == 5_183_944
    assert data["data_access_expires_at"] - data["issued_at"] == 90 * 86400
    assert any(ig.id in g["target_ids"] for g in data["granular_scopes"])
    sandbox.clock.advance(61 * 86400)
    data = (
        await client.get(
            f"{GRAPH}/debug_token",
            params={"input_token": token, "access_token": "loupe-sandbox-instagram|sandbox-secret-instagram"},
        )
    ).json()["data"]
    assert data["is_valid"] is False and data["error"]["code"] == 190


# ----- Instagram Login -----
def ig_query() -> dict[str, str]:
    return {
        "client_id": "loupe-sandbox-instagram",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "instagram_business_basic,instagram_business_manage_insights",
        "state": "ig1",
    }


async def ig_short(client: httpx.AsyncClient, account: str) -> tuple[str, httpx.Response]:
    query, fragment = callback(await authorize(client, IG, ig_query(), account))
    assert fragment == "_" and query["state"] == "ig1"
    form = {
        "client_id": "loupe-sandbox-instagram",
        "client_secret": "sandbox-secret-instagram",
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": query["code"],
    }
    r = await client.post("/api.instagram.com/oauth/access_token", data=form)
    again = await client.post("/api.instagram.com/oauth/access_token", data=form)
    return r.json()["data"][0]["access_token"], again


async def ig_long(client: httpx.AsyncClient, account: str) -> str:
    short, _ = await ig_short(client, account)
    r = await client.get(
        "/graph.instagram.com/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "sandbox-secret-instagram", "access_token": short},
    )
    assert r.json()["expires_in"] == 5_183_944
    return r.json()["access_token"]  # type: ignore[no-any-return]


async def test_instagram_login_fragment_single_use_and_long_lived(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="MEDIA_CREATOR", page_id=None)
    short, again = await ig_short(client, ig.id)
    assert short.startswith("IG")
    assert again.status_code == 400 and again.json() == {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used",
    }
    me = await client.get(
        "/graph.instagram.com/v23.0/me",
        params={"fields": "user_id,username,account_type,followers_count,media_count", "access_token": short},
    )
    assert me.json()["user_id"] == ig.id and me.json()["account_type"] == "MEDIA_CREATOR"
    # tokens are not interchangeable between graph.instagram.com and graph.facebook.com
    other = await client.get(f"{GRAPH}/me", params={"access_token": short})
    assert other.json()["error"]["code"] == 190


async def test_instagram_refresh_rules(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="MEDIA_CREATOR", page_id=None)
    token = await ig_long(client, ig.id)
    url = "/graph.instagram.com/refresh_access_token"
    young = await client.get(url, params={"grant_type": "ig_refresh_token", "access_token": token})
    assert young.status_code == 400 and "24 hours" in young.json()["error"]["message"]
    sandbox.clock.advance(25 * 3600)
    ok = await client.get(url, params={"grant_type": "ig_refresh_token", "access_token": token})
    assert ok.status_code == 200 and ok.json()["expires_in"] == 5_183_944
    fresh = ok.json()["access_token"]
    sandbox.clock.advance(61 * 86400)  # both tokens are now past expiry: no refresh possible
    expired = await client.get(url, params={"grant_type": "ig_refresh_token", "access_token": fresh})
    err = expired.json()["error"]
    assert expired.status_code == 400 and (err["code"], err["error_subcode"]) == (190, 463)
