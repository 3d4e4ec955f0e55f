"""The creator removes the app: tokens revoked, and the platform's signed callbacks reach a real receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loupe.sandbox import create_app
from loupe.sandbox.callbacks import meta_signed_request, tiktok_signature
from loupe.sandbox.state import Sandbox

from .conftest import T0, first, live_server

GRAPH = "/graph.facebook.com/v23.0"
TIKTOK = "/open.tiktokapis.com/v2"


def unpad(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_signed_request(secret: str, value: str) -> dict[str, Any]:
    """Meta's documented check (platform-apis.md §0.7), written independently of the sandbox's signer."""
    sig, _, payload = value.partition(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(unpad(sig), expected)
    data: dict[str, Any] = json.loads(unpad(payload))
    assert data["algorithm"] == "HMAC-SHA256"
    return data


def verify_tiktok(secret: str, header: str, raw: bytes) -> int:
    parts = dict(p.split("=", 1) for p in header.split(","))
    signed = parts["t"].encode() + b"." + raw
    assert hmac.compare_digest(parts["s"], hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())
    return int(parts["t"])


def receiver(seen: list[dict[str, Any]]) -> Starlette:
    """What our api would mount under /webhooks: records every call, answers like a good receiver."""

    async def record(request: Request) -> Response:
        raw = await request.body()
        seen.append({"path": request.url.path, "headers": dict(request.headers), "raw": raw})
        if request.url.path.endswith("data-deletion"):
            return JSONResponse({"url": "https://loupe.test/deletion?id=abc", "confirmation_code": "abc"})
        return Response(status_code=200)

    paths = ["/webhooks/meta/deauthorize", "/webhooks/meta/data-deletion", "/webhooks/tiktok", "/broken"]
    return Starlette(routes=[Route(p, record, methods=["POST"]) for p in paths])


@pytest.fixture(scope="module")
def received() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    with live_server(receiver(seen)) as url:
        yield url, seen


async def mint(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post("/_sandbox/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_signers_match_an_independent_check() -> None:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": "218471"}
    value = meta_signed_request("s3cret", payload)
    assert "=" not in value and verify_signed_request("s3cret", value) == payload
    with pytest.raises(AssertionError):
        verify_signed_request("other", value)
    body = b'{"event":"authorization.removed"}'
    header = tiktok_signature("s3cret", 1700000000, body)
    assert header.startswith("t=1700000000,s=") and verify_tiktok("s3cret", header, body) == 1700000000
    assert tiktok_signature("s3cret", 1700000000, body.decode()) == header


async def test_app_settings_default_to_the_api_and_can_be_changed(admin: httpx.AsyncClient, received: Any) -> None:
    base = received[0]
    ig = (await admin.get("/_sandbox/apps/instagram")).json()
    assert ig == {
        "platform": "instagram",
        "client_id": "loupe-sandbox-instagram",
        "deauthorize_url": f"{base}/webhooks/meta/deauthorize",
        "data_deletion_url": f"{base}/webhooks/meta/data-deletion",
    }
    assert (await admin.get("/_sandbox/apps/tiktok")).json()["webhook_url"] == f"{base}/webhooks/tiktok"
    r = await admin.put("/_sandbox/apps/tiktok", json={"webhook_url": "https://example.test/tt"})
    assert r.status_code == 200 and r.json()["webhook_url"] == "https://example.test/tt"
    assert (await admin.put("/_sandbox/apps/tiktok", json={"deauthorize_url": "https://x.test"})).status_code == 400
    assert (await admin.put("/_sandbox/apps/facebook", json={"deauthorize_url": "nope"})).status_code == 400
    assert (await admin.get("/_sandbox/apps/myspace")).status_code == 404
    unset = create_app(seed=42).state.sandbox.callbacks
    assert unset["instagram"]["deauthorize_url"] is None and unset["tiktok"]["webhook_url"] is None


async def test_meta_removal_revokes_and_posts_signed_requests(admin: httpx.AsyncClient, wired: Any, seen: list) -> None:
    sandbox: Sandbox = wired.state.sandbox
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    creator = sandbox.world.creator_of(ig)
    token = await mint(admin, platform="instagram", account=ig.id)
    pages = await admin.get(f"{GRAPH}/me/accounts", params={"access_token": token["access_token"]})
    page_token = pages.json()["data"][0]["access_token"]
    r = await admin.post("/_sandbox/apps/instagram/remove", json={"account_id": ig.id, "delete_data": True})
    answer = r.json()
    assert r.status_code == 200 and answer["login"] == "facebook" and answer["user_id"] == creator.fb_user_id
    assert answer["revoked"] == 2  # the user token and the Page token derived from it
    assert [(c["callback"], c["status"]) for c in answer["calls"]] == [("deauthorize", 200), ("data_deletion", 200)]
    assert answer["data_deletion"] == {"url": "https://loupe.test/deletion?id=abc", "confirmation_code": "abc"}
    assert [s["path"] for s in seen] == ["/webhooks/meta/deauthorize", "/webhooks/meta/data-deletion"]
    for call in seen:
        assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(call["raw"].decode())
        data = verify_signed_request("sandbox-secret-instagram", form["signed_request"][0])
        assert data == {"algorithm": "HMAC-SHA256", "issued_at": int(T0), "user_id": creator.fb_user_id}
    for value in (token["access_token"], page_token):
        me = await admin.get(f"{GRAPH}/me", params={"access_token": value})
        err = me.json()["error"]
        assert me.status_code == 400 and (err["code"], err["error_subcode"]) == (190, 458)


async def test_instagram_login_removal_names_the_ig_account(admin: httpx.AsyncClient, wired: Any, seen: list) -> None:
    sandbox: Sandbox = wired.state.sandbox
    ig = first(sandbox, "instagram", account_type="MEDIA_CREATOR", page_id=None)
    token = await mint(admin, platform="instagram", account=ig.id, login="instagram")
    answer = (await admin.post("/_sandbox/apps/instagram/remove", json={"account_id": ig.id})).json()
    assert answer["login"] == "instagram" and answer["user_id"] == ig.id and answer["revoked"] == 1
    assert "data_deletion" not in answer and [s["path"] for s in seen] == ["/webhooks/meta/deauthorize"]
    form = parse_qs(seen[0]["raw"].decode())
    assert verify_signed_request("sandbox-secret-instagram", form["signed_request"][0])["user_id"] == ig.id
    me = await admin.get("/graph.instagram.com/v23.0/me", params={"access_token": token["access_token"]})
    assert me.status_code == 400 and me.json()["error"]["error_subcode"] == 458


async def test_fb_user_id_removes_the_facebook_app(admin: httpx.AsyncClient, wired: Any, seen: list) -> None:
    sandbox: Sandbox = wired.state.sandbox
    page = first(sandbox, "facebook")
    token = await mint(admin, platform="facebook", account=page.id)
    answer = (await admin.post("/_sandbox/apps/facebook/remove", json={"account_id": page.fb_user_id})).json()
    assert answer["user_id"] == page.fb_user_id and answer["revoked"] == 1
    form = parse_qs(seen[0]["raw"].decode())
    assert verify_signed_request("sandbox-secret-facebook", form["signed_request"][0])["user_id"] == page.fb_user_id
    assert (await admin.get(f"{GRAPH}/me", params={"access_token": token["access_token"]})).status_code == 400
    missing = await admin.post("/_sandbox/apps/facebook/remove", json={"account_id": "nobody"})
    assert missing.status_code == 404


async def test_tiktok_removal_sends_a_signed_webhook(admin: httpx.AsyncClient, wired: Any, seen: list) -> None:
    sandbox: Sandbox = wired.state.sandbox
    acct = first(sandbox, "tiktok")
    token = await mint(admin, platform="tiktok", account=acct.id)
    answer = (await admin.post("/_sandbox/apps/tiktok/remove", json={"account_id": acct.id})).json()
    assert answer["revoked"] == 2 and answer["calls"][0]["status"] == 200  # access + refresh token
    call = seen[0]
    assert call["path"] == "/webhooks/tiktok" and call["headers"]["content-type"] == "application/json"
    assert verify_tiktok("sandbox-secret-tiktok", call["headers"]["tiktok-signature"], call["raw"]) == int(T0)
    assert json.loads(call["raw"]) == {
        "client_key": "loupe-sandbox-tiktok",
        "event": "authorization.removed",
        "create_time": int(T0),
        "user_openid": acct.id,
        "content": '{"reason": 1}',
    }
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    r = await admin.get(f"{TIKTOK}/user/info/", params={"fields": "open_id"}, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "access_token_invalid"
    form = {"client_key": "loupe-sandbox-tiktok", "client_secret": "sandbox-secret-tiktok"}
    refresh = {**form, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    assert (await admin.post(f"{TIKTOK}/oauth/token/", data=refresh)).status_code != 200


async def test_a_receiver_that_is_down_is_reported(admin: httpx.AsyncClient, wired: Any, seen: list) -> None:
    sandbox: Sandbox = wired.state.sandbox
    await admin.put("/_sandbox/apps/tiktok", json={"webhook_url": "http://127.0.0.1:9/webhooks/tiktok"})
    await admin.put("/_sandbox/apps/instagram", json={"deauthorize_url": None})
    r = await admin.post("/_sandbox/apps/tiktok/remove", json={"account_id": first(sandbox, "tiktok").id})
    call = r.json()["calls"][0]
    assert r.status_code == 200 and call["status"] is None and "ConnectError" in call["error"]
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    r = await admin.post("/_sandbox/apps/instagram/remove", json={"account_id": ig.id})
    assert r.status_code == 200 and "skipped" in r.json()["calls"][0] and not seen


async def test_platforms_without_callbacks_only_revoke(admin: httpx.AsyncClient, wired: Any) -> None:
    sandbox: Sandbox = wired.state.sandbox
    acct = first(sandbox, "twitch")
    token = await mint(admin, platform="twitch", account=acct.id)
    answer = (await admin.post("/_sandbox/apps/twitch/remove", data={"account_id": acct.id})).json()  # the index form
    assert answer["revoked"] == 2 and answer["calls"] == [] and "no app-removal callback" in answer["note"]
    r = await admin.get("/id.twitch.tv/oauth2/validate", headers={"Authorization": f"OAuth {token['access_token']}"})
    assert r.status_code == 401
    page = await admin.get("/_sandbox/")
    assert 'action="apps/twitch/remove"' in page.text and "webhooks/meta/deauthorize" in page.text
