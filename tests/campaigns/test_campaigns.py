"""Campaigns: CRUD, dates, story-capture toggle and its history, auth and tenancy."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests import factories
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


async def test_create_get_update_list_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await factories.campaign(client, tenant, name=" Spring ", description="EU", ends_on="2026-04-30")
    assert created["name"] == "Spring" and created["ends_on"] == "2026-04-30"
    assert created["story_capture"] is False and created["story_capture_history"] == []
    url = f"/v1/campaigns/{created['id']}"
    assert (await client.get(url, headers=tenant.read)).json() == created

    updated = await client.patch(url, json={"ends_on": None, "description": None}, headers=tenant.write)
    assert updated.status_code == 200
    assert updated.json()["ends_on"] is None and updated.json()["description"] is None
    listed = await client.get("/v1/campaigns", headers=tenant.read)
    assert [c["id"] for c in listed.json()["data"]] == [created["id"]]

    assert (await client.delete(url, headers=tenant.write)).status_code == 204
    assert (await client.get(url, headers=tenant.read)).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"starts_on": "2026-03-01"}, "body.name"),
        ({"name": "X"}, "body.starts_on"),
        ({"name": "X", "starts_on": "2026-02-30"}, "body.starts_on"),
        ({"name": "X", "starts_on": "2026-03-01", "ends_on": "2026-02-28"}, "body"),
        ({"name": " ", "starts_on": "2026-03-01"}, "body.name"),
    ],
)
async def test_invalid_campaigns_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/campaigns", json=payload, headers=tenant.write)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors]
    if payload.get("ends_on"):
        assert "before starts_on" in errors[0]["reason"]


async def test_update_cannot_put_the_end_before_the_start(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await factories.campaign(client, tenant, ends_on="2026-03-31")
    url = f"/v1/campaigns/{created['id']}"
    response = await client.patch(url, json={"starts_on": "2026-04-15"}, headers=tenant.write)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.ends_on"
    assert (await client.get(url, headers=tenant.read)).json()["starts_on"] == "2026-03-01"
    assert (await client.patch(url, json={"story_capture": None}, headers=tenant.write)).status_code == 422


async def test_story_capture_toggle_keeps_its_history(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await factories.campaign(client, tenant, story_capture=True)
    assert created["story_capture"] is True
    [first] = created["story_capture_history"]
    assert first["ended_at"] is None
    url = f"/v1/campaigns/{created['id']}"

    again = (await client.patch(url, json={"story_capture": True}, headers=tenant.write)).json()
    assert again["story_capture_history"] == created["story_capture_history"]  # no second window

    off = (await client.patch(url, json={"story_capture": False}, headers=tenant.write)).json()
    assert off["story_capture"] is False
    [closed] = off["story_capture_history"]
    assert closed["started_at"] == first["started_at"] and closed["ended_at"] >= first["started_at"]

    on = (await client.patch(url, json={"story_capture": True}, headers=tenant.write)).json()
    assert on["story_capture"] is True
    assert [w["ended_at"] is None for w in on["story_capture_history"]] == [False, True]
    assert on["story_capture_history"][1]["started_at"] >= closed["ended_at"]
    assert (await client.get(url, headers=tenant.read)).json()["story_capture_history"] == on["story_capture_history"]


async def test_pagination(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await factories.campaign(client, tenant, name=f"C{i}"))["id"] for i in range(5)]
    first = (await client.get("/v1/campaigns", params={"limit": 3}, headers=tenant.read)).json()
    second = (
        await client.get("/v1/campaigns", params={"limit": 3, "cursor": first["next_cursor"]}, headers=tenant.read)
    ).json()
    assert [c["id"] for c in first["data"] + second["data"]] == list(reversed(ids))
    assert second["has_more"] is False


async def test_a_campaign_with_links_cannot_be_deleted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await factories.campaign(client, tenant)
    link = await client.post(
        f"/v1/campaigns/{created['id']}/links",
        json={"name": "Shop", "destination": "https://shop.example/"},
        headers=tenant.write,
    )
    assert link.status_code == 201
    response = await client.delete(f"/v1/campaigns/{created['id']}", headers=tenant.write)
    assert response.status_code == 409 and "never deleted" in response.json()["detail"]


async def test_auth_and_tenancy(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    created = await factories.campaign(client, acme)
    url = f"/v1/campaigns/{created['id']}"
    assert (await client.get(url)).status_code == 401
    assert (await client.patch(url, json={"name": "X"}, headers=acme.read)).status_code == 403
    assert (
        await client.post("/v1/campaigns", json={"name": "X", "starts_on": "2026-01-01"}, headers=acme.read)
    ).status_code == 403
    for response in (
        await client.get(url, headers=rival.read),
        await client.patch(url, json={"story_capture": True}, headers=rival.write),
        await client.delete(url, headers=rival.write),
    ):
        assert response.status_code == 404
    assert (await client.get("/v1/campaigns", headers=rival.read)).json()["data"] == []
    assert (await client.get(url, headers=acme.read)).json()["story_capture"] is False


async def test_every_write_route_refuses_a_read_only_key(app, client: httpx.AsyncClient, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    areas = ("/v1/influencers", "/v1/campaigns", "/v1/links")
    writes = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(areas)
        for method in operations
        if method in {"post", "patch", "put", "delete"}
    ]
    assert len(writes) >= 15
    for method, path in writes:
        url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
        response = await client.request(method, url, json={}, headers=tenant.read)
        assert response.status_code == 403, (method, path, response.status_code)
