"""Trackings through the API: the seed's creation rules (000_*.txt) and tracked profiles."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


def today() -> date:  # at the call, not at import: a run that crosses midnight UTC stays right
    return datetime.now(UTC).date()


async def _report(client: httpx.AsyncClient, tenant: Tenant, name: str = "Spring") -> str:
    created = await client.post("/v1/reports", json={"name": name}, headers=tenant.write)
    assert created.status_code == 201
    return str(created.json()["id"])


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Spring drop",
        "network": "instagram",
        "hashtags": ["#HappySpring", "EnjoyLife", "happyspring"],
        "mentions": ["@Loupe_Brand"],
        "keywords": ["Spring  Sale!"],
        "start_date": today().isoformat(),
        **changes,
    }


async def _tracking(client: httpx.AsyncClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    report_id = await _report(client, tenant, changes.pop("report_name", "Spring"))
    created = await client.post(f"/v1/reports/{report_id}/trackings", json=_body(**changes), headers=tenant.write)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


async def test_create_normalises_terms_then_read_list_update_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    tracking = await _tracking(client, tenant)
    assert tracking["hashtags"] == ["happyspring", "enjoylife"]  # sign optional, duplicates removed
    assert tracking["mentions"] == ["loupe_brand"]
    assert tracking["keywords"] == ["spring sale"]
    assert tracking["end_date"] is None  # open-ended
    tid = tracking["id"]

    assert (await client.get(f"/v1/trackings/{tid}", headers=tenant.read)).json() == tracking
    listed = await client.get(f"/v1/reports/{tracking['report_id']}/trackings", headers=tenant.read)
    assert [t["id"] for t in listed.json()["data"]] == [tid]

    end = (today() + timedelta(days=30)).isoformat()
    updated = await client.patch(f"/v1/trackings/{tid}", json={"keywords": [], "end_date": end}, headers=tenant.write)
    assert updated.status_code == 200
    assert updated.json()["keywords"] == [] and updated.json()["end_date"] == end
    assert updated.json()["hashtags"] == ["happyspring", "enjoylife"]

    assert (await client.delete(f"/v1/trackings/{tid}", headers=tenant.write)).status_code == 204
    assert (await client.get(f"/v1/trackings/{tid}", headers=tenant.read)).status_code == 404


async def test_names_are_unique_in_the_workspace_whatever_the_case(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    await _tracking(client, tenant, name="Spring Drop")
    other_report = await _report(client, tenant, "Another report")
    again = await client.post(
        f"/v1/reports/{other_report}/trackings", json=_body(name="spring drop"), headers=tenant.write
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    other = await make_tenant("Other")
    assert (await _tracking(client, other, name="Spring Drop"))["name"] == "Spring Drop"  # another workspace


async def test_concurrent_creations_of_one_name_give_one_tracking_and_409s(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    report_id = await _report(client, tenant)
    answers = await asyncio.gather(
        *(
            client.post(f"/v1/reports/{report_id}/trackings", json=_body(name=f"Same {'NAME' if i % 2 else 'name'}"),
                        headers=tenant.write)
            for i in range(6)
        )
    )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409]
    listed = await client.get(f"/v1/reports/{report_id}/trackings", headers=tenant.read)
    assert len(listed.json()["data"]) == 1


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"hashtags": [], "mentions": [], "keywords": []}, ["body"]),
        ({"hashtags": ["ok", "two words", "#"], "keywords": ["!!!"]}, ["body.hashtags.1", "body.hashtags.2",
                                                                       "body.keywords.0"]),
        ({"mentions": ["@.bad"]}, ["body.mentions.0"]),
        ({"hashtags": ["x" * 101]}, ["body.hashtags.0"]),
        ({"hashtags": ["t"] * 101}, ["body.hashtags"]),
        ({"start_date": (today() - timedelta(days=1)).isoformat()}, ["body.start_date"]),
        ({"end_date": (today() - timedelta(days=1)).isoformat()}, ["body.end_date"]),
        ({"network": "myspace"}, ["body.network"]),
        ({"name": " "}, ["body.name"]),
    ],
)  # fmt: skip
async def test_bad_criteria_are_refused_naming_each_field_and_nothing_is_created(
    client: httpx.AsyncClient, tenant: Tenant, changes: dict[str, Any], fields: list[str]
) -> None:
    report_id = await _report(client, tenant)
    answer = await client.post(f"/v1/reports/{report_id}/trackings", json=_body(**changes), headers=tenant.write)
    assert _fields(answer) == fields
    assert (await client.get(f"/v1/reports/{report_id}/trackings", headers=tenant.read)).json()["data"] == []


async def test_the_start_date_is_mandatory(client: httpx.AsyncClient, tenant: Tenant) -> None:
    report_id = await _report(client, tenant)
    body = {k: v for k, v in _body().items() if k != "start_date"}
    answer = await client.post(f"/v1/reports/{report_id}/trackings", json=body, headers=tenant.write)
    assert _fields(answer) == ["body.start_date"]
    assert (await client.get(f"/v1/reports/{report_id}/trackings", headers=tenant.read)).json()["data"] == []


async def test_updates_keep_the_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    tracking = await _tracking(client, tenant, keywords=[])
    tid = tracking["id"]
    emptied = await client.patch(f"/v1/trackings/{tid}", json={"hashtags": [], "mentions": []}, headers=tenant.write)
    assert _fields(emptied) == ["body"]
    early = await client.patch(
        f"/v1/trackings/{tid}", json={"start_date": (today() - timedelta(days=3)).isoformat()}, headers=tenant.write
    )
    assert _fields(early) == ["body.start_date"]
    assert _fields(await client.patch(f"/v1/trackings/{tid}", json={"name": None}, headers=tenant.write)) == [
        "body.name"
    ]
    assert (await client.get(f"/v1/trackings/{tid}", headers=tenant.read)).json() == tracking  # nothing changed


async def test_another_workspace_sees_nothing(client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any) -> None:
    tracking = await _tracking(client, tenant)
    other = await make_tenant("Other")
    assert (await client.get(f"/v1/trackings/{tracking['id']}", headers=other.read)).status_code == 404
    created = await client.post(f"/v1/reports/{tracking['report_id']}/trackings", json=_body(), headers=other.write)
    assert created.status_code == 404


async def _influencer(client: httpx.AsyncClient, tenant: Tenant, name: str, *profiles: tuple[str, str]) -> str:
    body = {"name": name, "profiles": [{"platform": p, "handle": h} for p, h in profiles]}
    created = await client.post("/v1/influencers", json=body, headers=tenant.write)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_profiles_by_handle_influencer_and_list_each_answered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    tid = (await _tracking(client, tenant))["id"]
    ada = await _influencer(client, tenant, "Ada", ("instagram", "ada.codes"), ("tiktok", "ada.tok"))
    grace = await _influencer(client, tenant, "Grace", ("instagram", "grace.h"))
    tiktoker = await _influencer(client, tenant, "Tik", ("tiktok", "only.tok"))
    listed = await client.post("/v1/influencer-lists", json={"name": "VIP"}, headers=tenant.write)
    list_id = listed.json()["id"]
    members = {"influencer_ids": [grace, tiktoker]}
    assert (await client.post(f"/v1/influencer-lists/{list_id}/members", json=members, headers=tenant.write)).is_success

    body = {
        "handles": [
            "@Ada.Codes",
            "https://www.instagram.com/new.face/?hl=en",
            "tiktok.com/@ada.tok",
            "new.face",
            "x y",
        ],
        "influencer_ids": [ada, tiktoker, "00000000-0000-0000-0000-000000000000"],
        "list_ids": [list_id],
    }
    answer = await client.post(f"/v1/trackings/{tid}/profiles", json=body, headers=tenant.write)
    assert answer.status_code == 200, answer.text
    results = [(r["input"], r["outcome"], r["reason"]) for r in answer.json()["results"]]
    assert results[4][:2] == ("x y", "invalid")
    assert results[:4] + results[5:] == [
        ("@Ada.Codes", "added", None),
        ("https://www.instagram.com/new.face/?hl=en", "added", None),
        ("tiktok.com/@ada.tok", "invalid", "a tiktok profile; this tracking follows instagram"),
        ("new.face", "duplicate", "listed earlier in this request"),
        (ada, "duplicate", "listed earlier in this request"),  # ada.codes came by handle first
        (tiktoker, "invalid", "the influencer has no instagram profile"),
        ("00000000-0000-0000-0000-000000000000", "invalid", "no influencer of this workspace has this id"),
        (list_id, "added", None),  # grace.h
    ]
    assert answer.json()["added"] == 3 and answer.json()["duplicates"] == 2 and answer.json()["invalid"] == 4

    again = await client.post(f"/v1/trackings/{tid}/profiles", json={"handles": ["ada.codes"]}, headers=tenant.write)
    assert again.json()["results"][0]["outcome"] == "duplicate"
    assert again.json()["results"][0]["reason"] == "already tracked"

    profiles = (await client.get(f"/v1/trackings/{tid}/profiles", headers=tenant.read)).json()["data"]
    by_handle = {p["handle"]: p for p in profiles}
    assert set(by_handle) == {"ada.codes", "new.face", "grace.h"}
    assert by_handle["ada.codes"]["influencer_name"] == "Ada"  # the handle belongs to a CRM influencer
    assert by_handle["new.face"]["influencer_id"] is None
    assert all(p["api_access"] is False and p["invite_status"] == "not_invited" for p in profiles)

    ids = [by_handle["ada.codes"]["id"], by_handle["new.face"]["id"]]
    removed = await client.post(f"/v1/trackings/{tid}/profiles/remove", json={"profile_ids": ids}, headers=tenant.write)
    assert removed.json() == {"removed": 2}
    left = (await client.get(f"/v1/trackings/{tid}/profiles", headers=tenant.read)).json()["data"]
    assert [p["handle"] for p in left] == ["grace.h"]


async def test_at_most_twenty_handles_per_request(client: httpx.AsyncClient, tenant: Tenant) -> None:
    tid = (await _tracking(client, tenant))["id"]
    handles = [f"creator{i}" for i in range(21)]
    assert _fields(await client.post(f"/v1/trackings/{tid}/profiles", json={"handles": handles}, headers=tenant.write))
    assert (await client.get(f"/v1/trackings/{tid}/profiles", headers=tenant.read)).json()["data"] == []
    twenty = await client.post(f"/v1/trackings/{tid}/profiles", json={"handles": handles[:20]}, headers=tenant.write)
    assert twenty.json()["added"] == 20
