"""The audit log: every write by a person or a key, filtered and paged; reads are not writes."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant


async def test_writes_are_recorded_with_who_what_and_where(
    client: httpx.AsyncClient, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    admin = await make_member(tenant.workspace_id, "admin")
    member = await make_member(tenant.workspace_id, "member")
    made = (await client.post("/v1/reports", json={"name": "Q1"}, headers=member.headers)).json()
    await client.patch(f"/v1/reports/{made['id']}", json={"name": "Q2"}, headers=tenant.write)
    await client.get("/v1/reports", headers=member.headers)  # a read: not recorded
    await client.post("/v1/reports", json={"name": ""}, headers=member.headers)  # refused: nothing happened

    events = (await client.get("/v1/audit-events", headers=admin.headers)).json()["data"]
    events = [e for e in events if e["action"] != "auth_login"]  # the two members' sign-ins (test_signin_audit)
    assert [(e["action"], e["actor_type"], e["resource_id"]) for e in events] == [
        ("reports_update", "api_key", made["id"]),
        ("reports_create", "person", made["id"]),
    ]
    create = events[1]
    assert create["actor_id"] == member.person_id and create["resource_type"] == "reports"
    assert create["method"] == "POST" and create["path"] == "/v1/reports" and create["address"]

    by_member = (
        await client.get("/v1/audit-events", params={"actor_id": member.person_id}, headers=admin.headers)
    ).json()
    assert [e["action"] for e in by_member["data"]] == ["reports_create", "auth_login"]
    since = (
        await client.get("/v1/audit-events", params={"from": events[0]["created_at"]}, headers=admin.headers)
    ).json()
    assert [e["action"] for e in since["data"]] == ["reports_update"]
    none = await client.get("/v1/audit-events", params={"resource_type": "links"}, headers=admin.headers)
    assert none.json()["data"] == []
    assert (await client.get("/v1/audit-events", headers=member.headers)).status_code == 403


async def test_the_log_pages_by_cursor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for n in range(5):
        await client.post("/v1/reports", json={"name": f"R{n}"}, headers=tenant.write)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/audit-events", params=params, headers=tenant.write)).json()
        seen += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and len({e["id"] for e in seen}) == 5
