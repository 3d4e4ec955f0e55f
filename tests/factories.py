"""Small API helpers shared by the campaign, link and story tests, and a SQL statement counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from loupe.kit.context import ProcessContext
from tests.conftest import Tenant


async def influencer(client: httpx.AsyncClient, tenant: Tenant, name: str = "Ada") -> dict[str, Any]:
    response = await client.post("/v1/influencers", json={"name": name}, headers=tenant.write)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def campaign(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    payload = {"name": "Spring", "starts_on": "2026-03-01", **body}
    response = await client.post("/v1/campaigns", json=payload, headers=tenant.write)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_creators(client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, *ids: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/campaigns/{campaign_id}/creators", json={"influencer_ids": list(ids)}, headers=tenant.write
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def move(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, influencer_id: str, stage: str
) -> httpx.Response:
    return await client.patch(
        f"/v1/campaigns/{campaign_id}/creators/{influencer_id}", json={"stage": stage}, headers=tenant.write
    )


async def creator_in(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, name: str = "Ada", stage: str = "applied"
) -> dict[str, Any]:
    """An influencer added to the campaign and walked to `stage`."""
    person = await influencer(client, tenant, name)
    await add_creators(client, tenant, campaign_id, person["id"])
    path = {"applied": [], "approved": ["approved"], "active": ["approved", "active"], "declined": ["declined"]}
    for step in path.get(stage, ["approved", "active", stage]):
        assert (await move(client, tenant, campaign_id, person["id"], step)).status_code == 200
    return person


SHOP = "https://shop.example/spring?ref=loupe"


async def campaign_link(client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, **body: Any) -> dict[str, Any]:
    payload = {"name": "Shop", "destination": SHOP, **body}
    response = await client.post(f"/v1/campaigns/{campaign_id}/links", json=payload, headers=tenant.write)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def creator_link(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, influencer_id: str, **body: Any
) -> httpx.Response:
    payload = {"campaign_id": campaign_id, "influencer_id": influencer_id, "name": "Bio", "destination": SHOP, **body}
    return await client.post("/v1/links", json=payload, headers=tenant.write)


async def links_of(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/links", params={"limit": 200, **params}, headers=tenant.read)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@contextmanager
def count_statements(db: ProcessContext) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (to catch a query per item)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
