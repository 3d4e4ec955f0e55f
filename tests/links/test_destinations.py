"""Which destinations a tracking link accepts: a table of good and bad URLs, through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import factories
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio

GOOD = [
    ("https://shop.example/spring", "https://shop.example/spring"),
    ("http://shop.example", "http://shop.example"),
    ("https://shop.example/p?utm_source=x&a=%20b#frag", "https://shop.example/p?utm_source=x&a=%20b#frag"),
    ("HTTPS://Shop.Example/Path", "HTTPS://Shop.Example/Path"),
    ("https://shop.example:8443/a", "https://shop.example:8443/a"),
    ("https://[2001:db8::1]/a", "https://[2001:db8::1]/a"),
    ("https://bücher.example/", "https://bücher.example/"),
    ("  https://shop.example/trimmed  ", "https://shop.example/trimmed"),
    ("https://shop.example/" + "a" * 2000, "https://shop.example/" + "a" * 2000),
]

BAD = [
    ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
    ("JavaScript://shop.example/%0aalert(1)", "scheme 'javascript' is not allowed"),
    ("data:text/html;base64,PHNjcmlwdD4=", "scheme 'data' is not allowed"),
    ("ftp://shop.example/file", "scheme 'ftp' is not allowed"),
    ("mailto:ada@example.com", "scheme 'mailto' is not allowed"),
    ("//shop.example/path", "absolute URL"),
    ("shop.example/path", "absolute URL"),
    ("https:shop.example", "absolute URL"),
    ("https://", "host"),
    ("http:///path", "host"),
    ("https://user:secret@shop.example/", "credentials"),
    ("https://shop.example@evil.example/", "credentials"),
    ("https://shop.example\\@evil.example/", "backslashes"),
    ("https://shop example/", "whitespace"),
    ("https://shop.example/a b", "whitespace"),
    ("https://shop.example/\u0000", "control"),
    ("https://shop.example/\u202egnp.exe", "control"),
    ("https://shop.example:99999/", "not a valid URL"),
    ("https://shop.example/" + "a" * 2030, "at most 2048"),
    ("", "blank"),
]


async def _post(client: httpx.AsyncClient, tenant: Tenant, destination: Any) -> httpx.Response:
    camp = await factories.campaign(client, tenant)
    return await client.post(
        f"/v1/campaigns/{camp['id']}/links", json={"name": "Shop", "destination": destination}, headers=tenant.write
    )


@pytest.mark.parametrize(("destination", "stored"), GOOD)
async def test_good_destinations_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant, destination: str, stored: str
) -> None:
    response = await _post(client, tenant, destination)
    assert response.status_code == 201, response.text
    assert response.json()["destination"] == stored


@pytest.mark.parametrize(("destination", "reason"), BAD)
async def test_bad_destinations_are_refused_naming_field_and_reason(
    client: httpx.AsyncClient, tenant: Tenant, destination: str, reason: str
) -> None:
    response = await _post(client, tenant, destination)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body.destination"
    assert reason in error["reason"]
    assert (await client.get("/v1/links", headers=tenant.read)).json()["data"] == []


async def test_creator_links_and_edits_use_the_same_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"])
    bad = {"campaign_id": camp["id"], "influencer_id": ada["id"], "name": "Bio", "destination": "data:,x"}
    response = await client.post("/v1/links", json=bad, headers=tenant.write)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.destination"
    good = await client.post("/v1/links", json={**bad, "destination": "https://ok.example"}, headers=tenant.write)
    assert good.status_code == 201
    edit = await client.patch(
        f"/v1/links/{good.json()['id']}", json={"destination": "https://a:b@ok.example"}, headers=tenant.write
    )
    assert edit.status_code == 422 and "credentials" in edit.json()["errors"][0]["reason"]
