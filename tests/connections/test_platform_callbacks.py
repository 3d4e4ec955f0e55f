"""Meta's deauthorize and data-deletion callbacks and TikTok's authorization.removed webhook, signed as the
platforms sign them (the sandbox's signers): verified, idempotent, and a bad signature changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from loupe.sandbox.callbacks import meta_signed_request, tiktok_signature
from loupe.sandbox.state import Sandbox
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account, invite, text_of
from tests.connections.test_connect_flow import accounts_of, status_of
from tests.contract.support import diff, dump

IG_SECRET = "sandbox-secret-instagram"
FB_SECRET = "sandbox-secret-facebook"
TIKTOK_SECRET = "sandbox-secret-tiktok"


def signed(user_id: str, secret: str = IG_SECRET) -> dict[str, str]:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": user_id}
    return {"signed_request": meta_signed_request(secret, payload)}


async def connect_instagram(client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox) -> Any:
    sent = await invite(client, tenant)
    person = sandbox.world.creators[0]
    await creator.connect(sent["token"], "instagram", person.accounts["instagram"][0].id)
    return sent, person


async def test_meta_deauthorize_revokes_and_needs_the_creator_again(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent, person = await connect_instagram(client, tenant, creator, sandbox)
    for _ in range(2):  # delivered twice: the same outcome
        response = await client.post("/webhooks/meta/deauthorize", data=signed(person.fb_user_id))
        assert response.status_code == 200
    [row] = await accounts_of(client, tenant)
    assert row["status"] == "revoked"
    assert await status_of(client, tenant, sent["id"]) == "action_needed"
    # Reconnecting makes both healthy again.
    await creator.connect(sent["token"], "instagram", person.accounts["instagram"][0].id)
    assert (await accounts_of(client, tenant))[0]["status"] == "active"
    assert await status_of(client, tenant, sent["id"]) == "active"


async def test_the_facebook_apps_secret_verifies_too(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    _, person = await connect_instagram(client, tenant, creator, sandbox)
    assert (
        await client.post("/webhooks/meta/deauthorize", data=signed(person.fb_user_id, FB_SECRET))
    ).status_code == 200
    assert (await accounts_of(client, tenant))[0]["status"] == "revoked"


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"signed_request": "garbage"},
        {"signed_request": "a.b"},
        "wrong-secret",
        "tampered",
    ],
)
async def test_meta_callbacks_refuse_bad_signatures_and_change_nothing(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext, form: Any
) -> None:
    _, person = await connect_instagram(client, tenant, creator, sandbox)
    if form == "wrong-secret":
        form = signed(person.fb_user_id, "not-our-secret")
    elif form == "tampered":
        genuine = signed("someone-else")["signed_request"]
        sig, _ = genuine.split(".")
        form = {"signed_request": f"{sig}.{signed(person.fb_user_id)['signed_request'].split('.')[1]}"}
    before = await dump(db)
    for path in ("/webhooks/meta/deauthorize", "/webhooks/meta/data-deletion"):
        response = await client.post(path, data=form)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert diff(before, await dump(db)) == []


async def test_meta_data_deletion_removes_tokens_and_personal_data_with_a_status_page(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent, person = await connect_instagram(client, tenant, creator, sandbox)
    response = await client.post("/webhooks/meta/data-deletion", data=signed(person.fb_user_id))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url", "confirmation_code"} and body["url"].endswith(
        f"/connect/deletion/{body['confirmation_code']}"
    )
    assert await accounts_of(client, tenant) == []
    influencer = (await client.get(f"/v1/influencers/{sent['influencer_id']}", headers=tenant.read)).json()
    assert influencer["profiles"] == []  # the profile that account gave the CRM went too
    assert await status_of(client, tenant, sent["id"]) == "action_needed"
    page = await client.get(httpx.URL(body["url"]).path)
    assert page.status_code == 200
    assert body["confirmation_code"] in page.text and "is complete" in text_of(page.text)
    assert (await client.get("/connect/deletion/unknown-code")).status_code == 404


def tiktok_event(open_id: str, event: str = "authorization.removed") -> bytes:
    return json.dumps(
        {
            "client_key": "loupe-sandbox-tiktok",
            "event": event,
            "create_time": int(time.time()),
            "user_openid": open_id,
            "content": json.dumps({"reason": 1}),
        }
    ).encode()


def signed_tiktok(body: bytes) -> dict[str, str]:
    return {"TikTok-Signature": tiktok_signature(TIKTOK_SECRET, int(time.time()), body)}


async def test_tiktok_authorization_removed_revokes(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    target = account(sandbox, "tiktok")
    await creator.connect(sent["token"], "tiktok", target.id)
    body = tiktok_event(target.id)
    before = await dump(db)
    for header in (None, tiktok_signature("wrong", int(time.time()), body), tiktok_signature(TIKTOK_SECRET, 1, body)):
        refused = await client.post(
            "/webhooks/tiktok", content=body, headers={"TikTok-Signature": header} if header else {}
        )
        assert refused.status_code == 403
    assert diff(before, await dump(db)) == []
    for _ in range(2):
        ok = await client.post(
            "/webhooks/tiktok",
            content=body,
            headers={"TikTok-Signature": tiktok_signature(TIKTOK_SECRET, int(time.time()), body)},
        )
        assert ok.status_code == 200
    assert (await accounts_of(client, tenant))[0]["status"] == "revoked"
    assert await status_of(client, tenant, sent["id"]) == "action_needed"
    other = tiktok_event(target.id, event="video.publish.completed")
    answer = await client.post(
        "/webhooks/tiktok",
        content=other,
        headers={"TikTok-Signature": tiktok_signature(TIKTOK_SECRET, int(time.time()), other)},
    )
    assert answer.status_code == 200
