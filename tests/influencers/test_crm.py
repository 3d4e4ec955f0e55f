"""CRM additions: the influencer import (validated whole, like the invite file), lists with bulk members,
search over names, emails and handles, and the `authenticated` filter on influencers and campaign creators."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from loupe.kit.context import ProcessContext
from tests import factories
from tests.conftest import Tenant
from tests.contract.support import insert_connected_account

pytestmark = pytest.mark.asyncio
CHANNEL = "UCabcdefghijklmnopqrstuV"


async def _import(client: httpx.AsyncClient, tenant: Tenant, body: str) -> httpx.Response:
    files = {"file": ("crm.csv", body.encode(), "text/csv")}
    return await client.post("/v1/influencers/import", files=files, headers=tenant.write)


async def _names(client: httpx.AsyncClient, tenant: Tenant, query: str = "") -> list[str]:
    answer = await client.get(f"/v1/influencers{query}", headers=tenant.read)
    assert answer.status_code == 200, answer.text
    return sorted(i["name"] for i in answer.json()["data"])


async def test_import_creates_influencers_with_tags_and_profiles(client: httpx.AsyncClient, tenant: Tenant) -> None:
    csv = (
        "\ufeffName,Email,Tags,Instagram,YouTube,TikTok\r\n"
        "Ada,ada@example.com,VIP;beauty,https://www.instagram.com/Ada.Codes/,"
        f"youtube.com/channel/{CHANNEL},tiktok.com/@ada.tok\r\n"
        'Grace,,"travel, food",@grace.h,,\r\n'
        "\r\n"
    )
    answer = await _import(client, tenant, csv)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"created": 2}
    people = {i["name"]: i for i in (await client.get("/v1/influencers", headers=tenant.read)).json()["data"]}
    ada = people["Ada"]
    assert ada["email"] == "ada@example.com" and ada["tags"] == ["vip", "beauty"]
    profiles = {(p["platform"], p["handle"], p["platform_user_id"]) for p in ada["profiles"]}
    assert profiles == {("instagram", "ada.codes", None), ("youtube", CHANNEL, CHANNEL), ("tiktok", "ada.tok", None)}
    assert people["Grace"]["tags"] == ["travel", "food"] and people["Grace"]["email"] is None


async def test_a_bad_import_names_every_bad_cell_and_creates_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.post("/v1/influencers", json={"name": "Old", "email": "taken@example.com"}, headers=tenant.write)
    csv = (
        "name,email,instagram,twitter\n"
        "Ada,ada@example.com,ada.codes,\n"  # fine
        ",nobody@example.com,,\n"  # line 3: no name
        "Bob,not-an-email,,\n"  # line 4
        "Cy,ADA@example.com,,\n"  # line 5: duplicate of line 2
        "Di,taken@example.com,,\n"  # line 6: already in the workspace
        "Ed,,tiktok.com/@ed,\n"  # line 7: another platform's URL
        "Fay,,,x.com/search?q=fay\n"  # line 8: not a profile
        "Gil,,,,,\n"  # line 9: too many cells
    )
    answer = await _import(client, tenant, csv)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == [
        "file.line.9",
        "file.line.3.name",
        "file.line.4.email",
        "file.line.5.email",
        "file.line.7.instagram",
        "file.line.8.twitter",
        "file.line.6.email",
    ]
    assert await _names(client, tenant) == ["Old"]


async def test_import_refuses_a_wrong_header_and_a_file_that_is_not_utf8(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await _import(client, tenant, "name,phone\nAda,123\n")).json()["errors"][0]["field"] == "file"
    latin1 = {"file": ("crm.csv", "name\nJosé\n".encode("latin-1"), "text/csv")}
    assert (await client.post("/v1/influencers/import", files=latin1, headers=tenant.write)).status_code == 415


async def test_q_searches_names_emails_and_handles(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in (
        {"name": "Ada Lovelace", "email": "countess@example.com"},
        {"name": "Grace", "email": "grace@navy.example", "profiles": [{"platform": "tiktok", "handle": "cobol.queen"}]},
        {"name": "Linus"},
    ):
        assert (await client.post("/v1/influencers", json=body, headers=tenant.write)).status_code == 201
    assert await _names(client, tenant, "?q=LOVE") == ["Ada Lovelace"]
    assert await _names(client, tenant, "?q=navy.example") == ["Grace"]
    assert await _names(client, tenant, "?q=@Cobol") == ["Grace"]
    assert await _names(client, tenant, "?q=100%25") == []


async def test_lists_add_and_remove_members_in_bulk(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    ids = [(await factories.influencer(client, tenant, name))["id"] for name in ("A", "B", "C")]
    vip = (await client.post("/v1/influencer-lists", json={"name": "VIP"}, headers=tenant.write)).json()
    path = f"/v1/influencer-lists/{vip['id']}"
    added = await client.post(f"{path}/members", json={"influencer_ids": ids}, headers=tenant.write)
    assert added.json() == {"changed": 3, "members": 3}
    again = await client.post(f"{path}/members", json={"influencer_ids": ids[:1]}, headers=tenant.write)
    assert again.json() == {"changed": 0, "members": 3}
    removed = await client.post(f"{path}/members/remove", json={"influencer_ids": ids[:2]}, headers=tenant.write)
    assert removed.json() == {"changed": 2, "members": 1}
    other = await make_tenant("Other")
    stranger = (await factories.influencer(client, other, "Z"))["id"]
    refused = await client.post(f"{path}/members", json={"influencer_ids": [ids[0], stranger]}, headers=tenant.write)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.influencer_ids.1"
    assert (await client.get(path, headers=tenant.read)).json()["members"] == 1  # nothing added
    twice = await client.post("/v1/influencer-lists", json={"name": "vip"}, headers=tenant.write)
    assert twice.status_code == 409
    assert (await client.get(path, headers=other.read)).status_code == 404


async def test_authenticated_filters_influencers_and_campaign_creators(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    invite = (await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"},
                                headers=tenant.write)).json()  # fmt: skip
    await insert_connected_account(db, tenant.workspace_id, invite)
    grace = await factories.influencer(client, tenant, "Grace")
    assert await _names(client, tenant, "?authenticated=true") == ["Ada"]
    assert await _names(client, tenant, "?authenticated=false") == ["Grace"]
    camp = await factories.campaign(client, tenant)
    await factories.add_creators(client, tenant, camp["id"], invite["influencer_id"], grace["id"])

    async def creators(flag: str) -> list[str]:
        page = await client.get(f"/v1/campaigns/{camp['id']}/creators?authenticated={flag}", headers=tenant.read)
        return [c["influencer_id"] for c in page.json()["data"]]

    assert await creators("true") == [invite["influencer_id"]]
    assert await creators("false") == [grace["id"]]
    async with db.engine.begin() as conn:  # the connection's access is lost: no longer authenticated
        await conn.execute(text("UPDATE connections SET status = 'expired'"))
    assert await _names(client, tenant, "?authenticated=true") == []
    assert await creators("true") == []
