"""Influencers (the CRM): profiles normalised, filters, pagination, validation, auth and tenancy."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests import factories
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


async def _create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post("/v1/influencers", json={"name": "Ada", **body}, headers=tenant.write)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_normalises_profiles_tags_and_email(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await _create(
        client,
        tenant,
        name="  Ada Lovelace ",
        email=" Ada@Example.COM ",
        tags=["VIP", "vip", " Beauty "],
        profiles=[{"platform": "instagram", "handle": " @Ada.Codes "}, {"platform": "tiktok", "handle": "ada_t"}],
    )
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "Ada@example.com"  # the domain is case-insensitive
    assert body["tags"] == ["vip", "beauty"]
    assert {(p["platform"], p["handle"]) for p in body["profiles"]} == {("instagram", "ada.codes"), ("tiktok", "ada_t")}
    fetched = await client.get(f"/v1/influencers/{body['id']}", headers=tenant.read)
    assert fetched.json() == body


async def test_same_handle_on_two_platforms_is_fine_but_twice_on_one_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ok = await _create(
        client, tenant, profiles=[{"platform": "instagram", "handle": "ada"}, {"platform": "youtube", "handle": "ada"}]
    )
    assert len(ok["profiles"]) == 2
    response = await client.post(
        "/v1/influencers",
        json={
            "name": "Ada",
            "profiles": [{"platform": "instagram", "handle": "ada"}, {"platform": "instagram", "handle": "@ADA"}],
        },
        headers=tenant.write,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.profiles"
    assert "twice" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body.name"),
        ({"name": "  "}, "body.name"),
        ({"name": "A", "email": "not-an-email"}, "body.email"),
        ({"name": "A", "tags": [" "]}, "body.tags"),
        ({"name": "A", "profiles": [{"platform": "myspace", "handle": "ada"}]}, "body.profiles.0.platform"),
        ({"name": "A", "profiles": [{"platform": "instagram", "handle": "has space"}]}, "body.profiles.0.handle"),
        ({"name": "A", "profiles": [{"platform": "instagram", "handle": "@"}]}, "body.profiles.0.handle"),
    ],
)
async def test_invalid_influencers_are_refused_with_the_field(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/influencers", json=payload, headers=tenant.write)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get("/v1/influencers", headers=tenant.read)).json()["data"] == []


async def test_update_replaces_profiles_keeping_ids_of_kept_ones(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ada = await _create(
        client, tenant, profiles=[{"platform": "instagram", "handle": "ada"}, {"platform": "twitch", "handle": "ada"}]
    )
    kept_id = next(p["id"] for p in ada["profiles"] if p["platform"] == "instagram")
    response = await client.patch(
        f"/v1/influencers/{ada['id']}",
        json={
            "profiles": [{"platform": "instagram", "handle": "@ADA"}, {"platform": "twitter", "handle": "ada"}],
            "email": None,
            "tags": ["new"],
        },
        headers=tenant.write,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(p["platform"], p["handle"]) for p in body["profiles"]} == {("instagram", "ada"), ("twitter", "ada")}
    assert next(p["id"] for p in body["profiles"] if p["platform"] == "instagram") == kept_id
    assert body["tags"] == ["new"] and body["email"] is None and body["name"] == "Ada"
    refused = await client.patch(f"/v1/influencers/{ada['id']}", json={"name": None}, headers=tenant.write)
    assert refused.status_code == 422


async def test_filters_by_tag_platform_and_name(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ada = await _create(
        client, tenant, name="Ada Lovelace", tags=["vip"], profiles=[{"platform": "tiktok", "handle": "a"}]
    )
    grace = await _create(client, tenant, name="Grace Hopper", tags=["VIP", "tech"])
    await _create(client, tenant, name="Alan 100%", profiles=[{"platform": "instagram", "handle": "alan"}])

    async def names(**params: str) -> list[str]:
        response = await client.get("/v1/influencers", params=params, headers=tenant.read)
        assert response.status_code == 200
        return sorted(i["name"] for i in response.json()["data"])

    assert await names(tag="VIP") == ["Ada Lovelace", "Grace Hopper"]
    assert await names(tag="tech") == [grace["name"]]
    assert await names(platform="tiktok") == [ada["name"]]
    assert await names(q="hop") == ["Grace Hopper"]
    assert await names(q="%") == ["Alan 100%"]  # wildcards are searched literally
    assert await names(tag="vip", platform="tiktok") == ["Ada Lovelace"]
    bad = await client.get("/v1/influencers", params={"platform": "myspace"}, headers=tenant.read)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.platform"


async def test_pagination_walks_every_influencer_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await _create(client, tenant, name=f"I{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/influencers", params=params, headers=tenant.read)).json()
        seen += [i["id"] for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ada = await _create(client, tenant)
    assert (await client.delete(f"/v1/influencers/{ada['id']}", headers=tenant.write)).status_code == 204
    assert (await client.get(f"/v1/influencers/{ada['id']}", headers=tenant.read)).status_code == 404


async def test_auth_and_tenancy(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    ada = await _create(client, acme, tags=["secret"])
    url = f"/v1/influencers/{ada['id']}"
    assert (await client.get("/v1/influencers")).status_code == 401
    assert (await client.post("/v1/influencers", json={"name": "X"}, headers=acme.read)).status_code == 403
    assert (await client.patch(url, json={"name": "X"}, headers=acme.read)).status_code == 403
    assert (await client.get(url, headers=rival.read)).status_code == 404
    assert (await client.patch(url, json={"name": "Hijacked"}, headers=rival.write)).status_code == 404
    assert (await client.delete(url, headers=rival.write)).status_code == 404
    assert (await client.get("/v1/influencers", params={"tag": "secret"}, headers=rival.read)).json()["data"] == []
    assert (await client.get(url, headers=acme.read)).json()["name"] == "Ada"
    assert (await client.get(f"/v1/influencers/{uuid.uuid4()}", headers=acme.read)).status_code == 404


async def test_an_influencer_with_links_cannot_be_deleted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )
    response = await client.delete(f"/v1/influencers/{ada['id']}", headers=tenant.write)
    assert response.status_code == 409 and "never deleted" in response.json()["detail"]
    assert (await client.get(f"/v1/influencers/{ada['id']}", headers=tenant.read)).status_code == 200
