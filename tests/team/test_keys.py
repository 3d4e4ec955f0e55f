"""API keys: least-privilege scopes, managed by admins only, and who made each."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.team.support import bearer


async def test_keys_record_who_made_them_and_need_admin(client: httpx.AsyncClient, tenant: Tenant, make_member) -> None:  # type: ignore[no-untyped-def]
    admin = await make_member(tenant.workspace_id, "admin")
    member = await make_member(tenant.workspace_id, "member")
    by_person = await client.post("/v1/api-keys", json={"name": "ci", "scopes": ["write"]}, headers=admin.headers)
    assert by_person.status_code == 201
    assert by_person.json()["created_by_person_id"] == admin.person_id and by_person.json()["scopes"] == [
        "read",
        "write",
    ]
    by_key = (
        await client.post("/v1/api-keys", json={"name": "pos", "scopes": ["conversions"]}, headers=tenant.write)
    ).json()
    assert by_key["created_by_key_id"] is not None and by_key["created_by_person_id"] is None

    assert (await client.post("/v1/api-keys", json={"name": "x"}, headers=member.headers)).status_code == 403
    write_key = bearer(by_person.json()["key"])
    refused = await client.delete(f"/v1/api-keys/{by_key['id']}", headers=write_key)
    assert refused.status_code == 403 and "`admin`" in refused.json()["detail"]


async def test_a_conversions_key_only_posts_conversions(client: httpx.AsyncClient, tenant: Tenant) -> None:
    key = (
        await client.post("/v1/api-keys", json={"name": "shop", "scopes": ["conversions"]}, headers=tenant.write)
    ).json()
    postback = bearer(key["key"])
    assert (await client.get("/v1/reports", headers=postback)).status_code == 403
    assert (await client.post("/v1/links", json={}, headers=postback)).status_code == 403
    # Allowed through: the unknown click is refused on its merits, not for the key.
    posted = await client.post(
        "/v1/conversions", json={"click_id": "nope", "event": "purchase", "external_id": "o-1"}, headers=postback
    )
    assert posted.status_code == 422, posted.text
