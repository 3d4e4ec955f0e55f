"""Tracking links: campaign-level links and their per-creator copies (both ways), creator-level links,
codes, edits and propagation, archive semantics, filters, auth and tenancy."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from tests import factories
from tests.conftest import Tenant
from tests.factories import SHOP, campaign_link, count_statements, creator_link, links_of

pytestmark = pytest.mark.asyncio
BASE = "http://127.0.0.1:8000"  # settings.public_base_url in tests


async def test_campaign_link_reaches_creators_already_promoted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    grace = await factories.creator_in(client, tenant, camp["id"], "Grace", "active")
    await factories.creator_in(client, tenant, camp["id"], "Alan", "applied")
    await factories.creator_in(client, tenant, camp["id"], "Joan", "declined")

    parent = await campaign_link(client, tenant, camp["id"], labels=["story"], utm_source="loupe")
    assert parent["kind"] == "campaign" and parent["code"] is None and parent["url"] is None

    copies = await links_of(client, tenant, campaign_id=camp["id"], kind="creator")
    assert sorted(c["influencer_id"] for c in copies) == sorted([ada["id"], grace["id"]])
    for copy in copies:
        assert copy["parent_link_id"] == parent["id"]
        assert copy["destination"] == SHOP and copy["labels"] == ["story"] and copy["utm_source"] == "loupe"
        assert re.fullmatch(r"[A-Za-z0-9_-]{7,}", copy["code"])
        assert copy["url"] == f"{BASE}/l/{copy['code']}"
    assert len({c["code"] for c in copies}) == 2


async def test_promotion_past_applied_generates_the_copy_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    parent = await campaign_link(client, tenant, camp["id"])
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")
    assert await links_of(client, tenant, influencer_id=ada["id"]) == []

    assert (await factories.move(client, tenant, camp["id"], ada["id"], "approved")).status_code == 200
    [copy] = await links_of(client, tenant, influencer_id=ada["id"])
    assert copy["parent_link_id"] == parent["id"]

    # Back to applied and promoted again (Later's workaround): still exactly one copy, same code.
    for stage in ("applied", "approved", "active", "completed"):
        assert (await factories.move(client, tenant, camp["id"], ada["id"], stage)).status_code == 200
    assert [c["code"] for c in await links_of(client, tenant, influencer_id=ada["id"])] == [copy["code"]]


async def test_archived_campaign_links_are_not_handed_out(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    parent = await campaign_link(client, tenant, camp["id"])
    await client.post(f"/v1/links/{parent['id']}/archive", headers=tenant.write)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    assert await links_of(client, tenant, influencer_id=ada["id"]) == []


async def test_creator_level_link_is_served_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")
    response = await creator_link(
        client, tenant, camp["id"], ada["id"], labels=["tiktok", "tiktok", " bio "], utm_medium="influencer"
    )
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["kind"] == "creator" and link["parent_link_id"] is None
    assert link["labels"] == ["tiktok", "bio"] and link["utm_medium"] == "influencer" and link["utm_source"] is None
    assert link["url"] == f"{BASE}/l/{link['code']}" and len(link["code"]) >= 7
    assert (await client.get(f"/v1/links/{link['id']}", headers=tenant.read)).json() == link


async def test_creator_level_link_needs_a_creator_of_the_campaign(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp = await factories.campaign(client, acme)
    outsider = await factories.influencer(client, acme, "Outsider")
    response = await creator_link(client, acme, camp["id"], outsider["id"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.influencer_id"
    assert "not a creator of this campaign" in response.json()["errors"][0]["reason"]

    theirs = await factories.campaign(client, rival)
    response = await creator_link(client, acme, theirs["id"], outsider["id"])
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.campaign_id"
    assert await links_of(client, acme) == []


async def test_names_must_stay_unambiguous_for_merge_tags(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    grace = await factories.creator_in(client, tenant, camp["id"], "Grace", "approved")
    await campaign_link(client, tenant, camp["id"], name="Shop")
    clash = await client.post(
        f"/v1/campaigns/{camp['id']}/links", json={"name": "shop", "destination": SHOP}, headers=tenant.write
    )
    assert clash.status_code == 409 and "tracking_link" in clash.json()["detail"]
    assert (await creator_link(client, tenant, camp["id"], ada["id"], name="SHOP")).status_code == 409
    assert (await creator_link(client, tenant, camp["id"], ada["id"], name="Bio")).status_code == 201
    assert (await creator_link(client, tenant, camp["id"], grace["id"], name="Bio")).status_code == 201  # other creator
    assert (await creator_link(client, tenant, camp["id"], ada["id"], name="bio")).status_code == 409


async def test_code_clash_draws_a_new_code(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loupe.links import codes

    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada")
    drawn = iter(["Taken01x", "Taken01x", "Fresh02y", "Fresh03z"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    first = (await creator_link(client, tenant, camp["id"], ada["id"], name="One")).json()
    second = await creator_link(client, tenant, camp["id"], ada["id"], name="Two")
    assert second.status_code == 201, second.text
    assert (first["code"], second.json()["code"]) == ("Taken01x", "Fresh02y")
    assert len(await links_of(client, tenant)) == 2


async def test_codes_are_unique_across_many_links(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    people = [await factories.influencer(client, tenant, f"C{i}") for i in range(12)]
    await factories.add_creators(client, tenant, camp["id"], *[p["id"] for p in people])
    for p in people:
        await factories.move(client, tenant, camp["id"], p["id"], "approved")
    for n in range(3):
        await campaign_link(client, tenant, camp["id"], name=f"L{n}")
    codes = [link["code"] for link in await links_of(client, tenant, kind="creator")]
    assert len(codes) == 36 and len(set(codes)) == 36


async def test_editing_a_campaign_link_propagates_to_live_copies(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    grace = await factories.creator_in(client, tenant, camp["id"], "Grace", "approved")
    parent = await campaign_link(client, tenant, camp["id"], utm_source="old")
    copies = {c["influencer_id"]: c for c in await links_of(client, tenant, kind="creator")}
    await client.post(f"/v1/links/{copies[grace['id']]['id']}/archive", headers=tenant.write)

    edit = {"destination": "https://shop.example/summer", "utm_source": None, "utm_medium": "ig", "name": "Summer"}
    response = await client.patch(f"/v1/links/{parent['id']}", json=edit, headers=tenant.write)
    assert response.status_code == 200, response.text
    assert response.json()["destination"] == edit["destination"] and response.json()["utm_source"] is None

    ada_copy = (await client.get(f"/v1/links/{copies[ada['id']]['id']}", headers=tenant.read)).json()
    assert ada_copy["destination"] == "https://shop.example/summer" and ada_copy["name"] == "Summer"
    assert ada_copy["utm_source"] is None and ada_copy["utm_medium"] == "ig"
    assert ada_copy["code"] == copies[ada["id"]]["code"]  # codes never change
    grace_copy = (await client.get(f"/v1/links/{copies[grace['id']]['id']}", headers=tenant.read)).json()
    assert grace_copy["destination"] == SHOP and grace_copy["utm_source"] == "old"  # archived: frozen

    own = await client.patch(f"/v1/links/{copies[ada['id']]['id']}", json={"name": "X"}, headers=tenant.write)
    assert own.status_code == 409 and parent["id"] in own.json()["detail"]


async def test_edit_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    link = (await creator_link(client, tenant, camp["id"], ada["id"])).json()
    url = f"/v1/links/{link['id']}"
    for body, field in [
        ({"destination": None}, "body.destination"),
        ({"destination": "javascript:alert(1)"}, "body.destination"),
        ({"name": " "}, "body.name"),
        ({"name": "{{x}}"}, "body.name"),
        ({"code": "mine"}, "body.code"),
        ({"labels": [""]}, "body.labels"),
    ]:
        response = await client.patch(url, json=body, headers=tenant.write)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    assert (await client.get(url, headers=tenant.read)).json() == link


async def test_archive_is_final_cascades_and_blocks_edits(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    await factories.creator_in(client, tenant, camp["id"], "Grace", "active")
    parent = await campaign_link(client, tenant, camp["id"])

    archived = await client.post(f"/v1/links/{parent['id']}/archive", headers=tenant.write)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True and archived.json()["archived_at"] is not None
    copies = await links_of(client, tenant, kind="creator")
    assert len(copies) == 2 and all(c["archived"] for c in copies)
    assert await links_of(client, tenant, archived="false") == []

    again = await client.post(f"/v1/links/{parent['id']}/archive", headers=tenant.write)
    assert again.status_code == 200 and again.json()["archived_at"] == archived.json()["archived_at"]

    for link in (parent, copies[0]):
        edit = await client.patch(f"/v1/links/{link['id']}", json={"name": "Back"}, headers=tenant.write)
        assert edit.status_code == 409 and "archived" in edit.json()["detail"]
    # The name is free again for a replacement link.
    await campaign_link(client, tenant, camp["id"], name="Shop")


async def test_delete_is_refused_with_a_problem(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    link = (await creator_link(client, tenant, camp["id"], ada["id"])).json()
    response = await client.delete(f"/v1/links/{link['id']}", headers=tenant.write)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "archive" in response.json()["detail"].lower()
    assert (await client.get(f"/v1/links/{link['id']}", headers=tenant.read)).json()["archived"] is False
    assert (await client.delete(f"/v1/links/{uuid.uuid4()}", headers=tenant.write)).status_code == 404


async def test_list_filters_and_pagination(client: httpx.AsyncClient, tenant: Tenant) -> None:
    spring, summer = await factories.campaign(client, tenant), await factories.campaign(client, tenant, name="Summer")
    ada = await factories.creator_in(client, tenant, spring["id"], "Ada")
    await factories.add_creators(client, tenant, summer["id"], ada["id"])
    grace = await factories.creator_in(client, tenant, spring["id"], "Grace")
    a1 = (await creator_link(client, tenant, spring["id"], ada["id"], name="A1", labels=["tiktok"])).json()
    a2 = (await creator_link(client, tenant, summer["id"], ada["id"], name="A2")).json()
    g1 = (await creator_link(client, tenant, spring["id"], grace["id"], name="G1", labels=["tiktok"])).json()
    await client.post(f"/v1/links/{g1['id']}/archive", headers=tenant.write)
    camp_link = await campaign_link(client, tenant, spring["id"])

    def ids(links: list[dict[str, Any]]) -> set[str]:
        return {link["id"] for link in links}

    assert ids(await links_of(client, tenant, campaign_id=spring["id"])) == {a1["id"], g1["id"], camp_link["id"]}
    assert ids(await links_of(client, tenant, influencer_id=ada["id"])) == {a1["id"], a2["id"]}
    assert ids(await links_of(client, tenant, label="tiktok")) == {a1["id"], g1["id"]}
    assert ids(await links_of(client, tenant, label="tiktok", archived="true")) == {g1["id"]}
    assert ids(await links_of(client, tenant, archived="false", kind="creator")) == {a1["id"], a2["id"]}
    listed = await client.get(f"/v1/campaigns/{spring['id']}/links", headers=tenant.read)
    assert ids(listed.json()["data"]) == {camp_link["id"]}

    first = (await client.get("/v1/links", params={"limit": 3}, headers=tenant.read)).json()
    rest = (
        await client.get("/v1/links", params={"limit": 3, "cursor": first["next_cursor"]}, headers=tenant.read)
    ).json()
    walked = [link["id"] for link in first["data"] + rest["data"]]
    assert walked == [camp_link["id"], g1["id"], a2["id"], a1["id"]] and rest["next_cursor"] is None


async def test_auth_and_tenancy(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp = await factories.campaign(client, acme)
    ada = await factories.creator_in(client, acme, camp["id"])
    link = (await creator_link(client, acme, camp["id"], ada["id"])).json()
    url = f"/v1/links/{link['id']}"
    assert (await client.get(url)).status_code == 401
    assert (await client.patch(url, json={"name": "X"}, headers=acme.read)).status_code == 403
    assert (await client.post(f"{url}/archive", headers=acme.read)).status_code == 403
    assert (await creator_link(client, acme, camp["id"], ada["id"], name="Z")).status_code == 201
    assert (
        await client.post(
            f"/v1/campaigns/{camp['id']}/links", json={"name": "N", "destination": SHOP}, headers=acme.read
        )
    ).status_code == 403
    for response in (
        await client.get(url, headers=rival.read),
        await client.patch(url, json={"name": "Hijack"}, headers=rival.write),
        await client.post(f"{url}/archive", headers=rival.write),
        await client.delete(url, headers=rival.write),
        await client.get(f"/v1/campaigns/{camp['id']}/links", headers=rival.read),
        await client.post(
            f"/v1/campaigns/{camp['id']}/links", json={"name": "N", "destination": SHOP}, headers=rival.write
        ),
    ):
        assert response.status_code == 404
    assert await links_of(client, rival) == []
    assert (await creator_link(client, rival, camp["id"], ada["id"])).status_code == 422
    assert (await client.get(url, headers=acme.read)).json()["archived"] is False


async def test_copies_for_many_creators_cost_a_fixed_number_of_queries(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    async def statements_to_copy(creators: int) -> int:
        camp = await factories.campaign(client, tenant)
        people = [(await factories.influencer(client, tenant, f"P{i}"))["id"] for i in range(creators)]
        await factories.add_creators(client, tenant, camp["id"], *people)
        for person in people:
            await factories.move(client, tenant, camp["id"], person, "approved")
        with count_statements(db) as seen:
            await campaign_link(client, tenant, camp["id"])
        assert len(await links_of(client, tenant, campaign_id=camp["id"], kind="creator")) == creators
        return len(seen)

    assert await statements_to_copy(20) == await statements_to_copy(2)
