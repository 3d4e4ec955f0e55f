"""Creators in a campaign: bulk add with duplicates, stage filter, the workflow's transitions, removal."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from tests import factories
from tests.conftest import Tenant
from tests.factories import count_statements

pytestmark = pytest.mark.asyncio


async def test_add_reports_duplicates_and_does_not_repeat_them(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada, grace = await factories.influencer(client, tenant, "Ada"), await factories.influencer(client, tenant, "Grace")
    first = await factories.add_creators(client, tenant, camp["id"], ada["id"], ada["id"])
    assert [c["influencer_id"] for c in first["added"]] == [ada["id"]]
    assert first["added"][0]["stage"] == "applied" and first["added"][0]["name"] == "Ada"
    assert first["duplicates"] == [ada["id"]]

    second = await factories.add_creators(client, tenant, camp["id"], ada["id"], grace["id"])
    assert [c["influencer_id"] for c in second["added"]] == [grace["id"]]
    assert second["duplicates"] == [ada["id"]]
    listed = (await client.get(f"/v1/campaigns/{camp['id']}/creators", headers=tenant.read)).json()
    assert sorted(c["name"] for c in listed["data"]) == ["Ada", "Grace"]


async def test_unknown_influencers_are_listed_and_nothing_is_added(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp = await factories.campaign(client, acme)
    ada = await factories.influencer(client, acme, "Ada")
    foreign = await factories.influencer(client, rival, "Theirs")
    response = await client.post(
        f"/v1/campaigns/{camp['id']}/creators",
        json={"influencer_ids": [ada["id"], str(uuid.uuid4()), foreign["id"]]},
        headers=acme.write,
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.influencer_ids.1", "body.influencer_ids.2"]
    listed = (await client.get(f"/v1/campaigns/{camp['id']}/creators", headers=acme.read)).json()
    assert listed["data"] == []
    empty = await client.post(f"/v1/campaigns/{camp['id']}/creators", json={"influencer_ids": []}, headers=acme.write)
    assert empty.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        ["approved", "active", "completed"],
        ["declined", "applied", "approved"],
        ["approved", "applied"],
        ["approved", "active", "completed", "active"],
        ["approved", "active", "declined"],
    ],
)
async def test_allowed_moves(client: httpx.AsyncClient, tenant: Tenant, path: list[str]) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    for stage in path:
        response = await factories.move(client, tenant, camp["id"], ada["id"], stage)
        assert response.status_code == 200, response.text
        assert response.json()["stage"] == stage


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "active"),
        ([], "completed"),
        (["approved"], "completed"),
        (["approved", "active", "completed"], "declined"),
        (["declined"], "approved"),
        (["approved", "active"], "applied"),
    ],
)
async def test_refused_moves_are_409_naming_the_allowed_ones(
    client: httpx.AsyncClient, tenant: Tenant, path: list[str], refused: str
) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    for stage in path:
        assert (await factories.move(client, tenant, camp["id"], ada["id"], stage)).status_code == 200
    current = path[-1] if path else "applied"
    response = await factories.move(client, tenant, camp["id"], ada["id"], refused)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert f"from {current} to {refused}" in response.json()["detail"]
    after = await client.get(f"/v1/campaigns/{camp['id']}/creators/{ada['id']}", headers=tenant.read)
    assert after.json()["stage"] == current


async def test_same_stage_is_a_no_op_and_unknown_stage_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], stage="approved")
    before = (await client.get(f"/v1/campaigns/{camp['id']}/creators/{ada['id']}", headers=tenant.read)).json()
    same = await factories.move(client, tenant, camp["id"], ada["id"], "approved")
    assert same.status_code == 200 and same.json() == before
    bad = await factories.move(client, tenant, camp["id"], ada["id"], "shortlisted")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.stage"


async def test_list_filters_by_stage_and_paginates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    await factories.creator_in(client, tenant, camp["id"], "Grace", "declined")
    await factories.creator_in(client, tenant, camp["id"], "Alan", "applied")
    url = f"/v1/campaigns/{camp['id']}/creators"

    async def names(**params: object) -> list[str]:
        return [c["name"] for c in (await client.get(url, params=params, headers=tenant.read)).json()["data"]]

    assert await names(stage="approved") == ["Ada"]
    assert await names(stage="declined") == ["Grace"]
    assert await names() == ["Alan", "Grace", "Ada"]
    first = (await client.get(url, params={"limit": 2}, headers=tenant.read)).json()
    rest = (await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.read)).json()
    assert [c["name"] for c in first["data"] + rest["data"]] == ["Alan", "Grace", "Ada"]
    assert (await client.get(url, params={"stage": "nope"}, headers=tenant.read)).status_code == 422


async def test_remove(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    url = f"/v1/campaigns/{camp['id']}/creators/{ada['id']}"
    assert (await client.delete(url, headers=tenant.write)).status_code == 204
    assert (await client.get(url, headers=tenant.read)).status_code == 404
    assert (await client.delete(url, headers=tenant.write)).status_code == 404
    assert (await client.get(f"/v1/influencers/{ada['id']}", headers=tenant.read)).status_code == 200


async def test_tenancy(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp = await factories.campaign(client, acme)
    ada = await factories.creator_in(client, acme, camp["id"])
    theirs = await factories.influencer(client, rival, "Theirs")
    base = f"/v1/campaigns/{camp['id']}/creators"
    assert (await client.get(base, headers=rival.read)).status_code == 404
    add = await client.post(base, json={"influencer_ids": [theirs["id"]]}, headers=rival.write)
    assert add.status_code == 404
    assert (await factories.move(client, rival, camp["id"], ada["id"], "approved")).status_code == 404
    assert (await client.delete(f"{base}/{ada['id']}", headers=rival.write)).status_code == 404
    assert (await client.post(base, json={"influencer_ids": [ada["id"]]}, headers=acme.read)).status_code == 403
    assert (await client.get(f"{base}/{ada['id']}", headers=acme.read)).json()["stage"] == "applied"


async def test_adding_many_creators_costs_a_fixed_number_of_queries(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    async def statements_to_add(count: int) -> int:
        camp = await factories.campaign(client, tenant)
        people = [(await factories.influencer(client, tenant, f"P{i}"))["id"] for i in range(count)]
        with count_statements(db) as seen:
            added = await factories.add_creators(client, tenant, camp["id"], *people)
        assert sorted(c["name"] for c in added["added"]) == sorted(f"P{i}" for i in range(count))
        return len(seen)

    assert await statements_to_add(20) == await statements_to_add(2)


async def test_adding_the_same_creator_twice_at_once_reports_a_duplicate(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loupe.campaigns.creators.repository import CreatorRepository

    camp = await factories.campaign(client, tenant)
    ada = await factories.influencer(client, tenant, "Ada")
    member_ids = CreatorRepository.member_ids

    both_looked = asyncio.Barrier(2)

    async def slow_member_ids(*args: Any, **kwargs: Any) -> list[uuid.UUID]:
        members = await member_ids(*args, **kwargs)
        # Neither adds before both have looked (a timeout, not a pass, if the requests never overlap).
        await asyncio.wait_for(both_looked.wait(), 10)
        return members

    monkeypatch.setattr(CreatorRepository, "member_ids", slow_member_ids)
    first, second = await asyncio.gather(
        *(
            client.post(
                f"/v1/campaigns/{camp['id']}/creators", json={"influencer_ids": [ada["id"]]}, headers=tenant.write
            )
            for _ in range(2)
        )
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    results = sorted([first.json(), second.json()], key=lambda body: len(body["added"]))
    assert results[0] == {"added": [], "duplicates": [ada["id"]]}
    assert [c["influencer_id"] for c in results[1]["added"]] == [ada["id"]]
