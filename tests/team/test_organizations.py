"""An agency's people: its admins see every workspace it owns and manage who administers them; people join
from its workspaces' teams; owners alone make owners; the last owner stays; outsiders get 404."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.team.support import bearer


async def test_an_agencys_admins_see_its_workspaces_and_manage_its_people(
    client: httpx.AsyncClient, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    boss = await make_member(tenant.workspace_id, "viewer")
    agency = (await client.post("/v1/organizations", json={"name": "Northwind"}, headers=boss.headers)).json()
    url = f"/v1/organizations/{agency['id']}"
    made = await client.post(
        "/v1/workspaces", json={"name": "Client A", "organization_id": agency["id"]}, headers=boss.headers
    )
    client_a = made.json()["id"]
    staff = await make_member(client_a, "viewer")  # in the team of one of its workspaces
    stranger = await make_member(tenant.workspace_id, "member")  # in none of them

    seen = (await client.get(url, headers=boss.headers)).json()
    assert (seen["role"], [w["name"] for w in seen["workspaces"]]) == ("owner", ["Client A"])
    assert (await client.get(url, headers=staff.headers)).status_code == 404  # not in it yet
    assert (await _set(client, boss, url, stranger.person_id, "admin")).status_code == 404
    assert (await _set(client, boss, url, staff.person_id, "viewer")).status_code == 422

    added = await _set(client, boss, url, staff.person_id, "admin")
    assert added.status_code == 200 and added.json()["role"] == "admin"
    members = (await client.get(f"{url}/members", headers=staff.headers)).json()["data"]
    assert [(m["email"], m["role"]) for m in members] == [(boss.email, "owner"), (staff.email, "admin")]
    switched = await client.post("/v1/auth/switch", json={"workspace_id": client_a}, headers=staff.headers)
    as_admin = bearer(switched.json()["access_token"])
    assert (await client.get("/v1/api-keys", headers=as_admin)).status_code == 200  # admin of Client A now

    assert (await _set(client, staff, url, staff.person_id, "owner")).status_code == 403  # owners make owners
    assert (await _set(client, boss, url, boss.person_id, "admin")).status_code == 409  # the last owner
    assert (await client.delete(f"{url}/members/{boss.person_id}", headers=staff.headers)).status_code == 403
    assert (await client.delete(f"{url}/members/{boss.person_id}", headers=boss.headers)).status_code == 409
    assert (await client.delete(f"{url}/members/{staff.person_id}", headers=staff.headers)).status_code == 204
    assert (await client.get(url, headers=staff.headers)).status_code == 404
    roles = {
        m["workspace_id"]: m["role"] for m in (await client.get("/v1/me", headers=staff.headers)).json()["memberships"]
    }
    assert roles == {client_a: "viewer"}  # their own membership stays; the organization's admin right is gone
    switched = await client.post("/v1/auth/switch", json={"workspace_id": client_a}, headers=boss.headers)
    log = (await client.get("/v1/audit-events", headers=bearer(switched.json()["access_token"]))).json()["data"]
    assert [e["action"] for e in log if e["action"].startswith("organizations_")] == [
        "organizations_members_remove",
        "organizations_members_set",
    ]


async def test_keys_cannot_reach_organizations(client: httpx.AsyncClient, tenant: Tenant, make_member) -> None:  # type: ignore[no-untyped-def]
    boss = await make_member(tenant.workspace_id, "viewer")
    agency = (await client.post("/v1/organizations", json={"name": "Northwind"}, headers=boss.headers)).json()
    answer = await client.get(f"/v1/organizations/{agency['id']}/members", headers=tenant.write)
    assert answer.status_code == 403


async def _set(client: httpx.AsyncClient, member, url: str, person_id: str, role: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.put(f"{url}/members/{person_id}", json={"role": role}, headers=member.headers)
