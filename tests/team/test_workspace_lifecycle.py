"""An owner hands the workspace over, or deletes it: gone for everyone at once, erased by the worker later,
other workspaces untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from loupe.kit.context import ProcessContext
from loupe.workspaces.jobs import erase_deleted_workspaces
from tests.clicks.support import insert_click, make_link
from tests.conftest import Tenant
from tests.team.support import bearer, token_sent_to


async def _members(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    rows = (await client.get("/v1/team/members", headers=headers)).json()["data"]
    return {m["email"]: m["role"] for m in rows}


async def test_an_owner_hands_over_and_steps_down_to_admin(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    owner = await make_member(tenant.workspace_id, "owner")
    heir = await make_member(tenant.workspace_id, "member")
    admin = await make_member(tenant.workspace_id, "admin")
    outsider = await make_member((await make_tenant("Other brand")).workspace_id, "owner")

    assert (await _transfer(client, admin, heir.person_id)).status_code == 403  # owners only
    assert (await _transfer(client, owner, outsider.person_id)).status_code == 404  # not in this team
    same = await _transfer(client, owner, owner.person_id)
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "body.person_id"
    assert (await _members(client, bearer(owner.access_token)))[owner.email] == "owner"  # refusals changed nothing

    handed = await _transfer(client, owner, heir.person_id)
    assert handed.status_code == 200 and handed.json()["role"] == "owner"
    roles = await _members(client, bearer(heir.access_token))
    assert (roles[owner.email], roles[heir.email]) == ("admin", "owner")
    assert (await _transfer(client, owner, heir.person_id)).status_code == 403  # an admin now
    events = (await client.get("/v1/audit-events", headers=bearer(heir.access_token))).json()["data"]
    assert "team_ownership_transfer" in [e["action"] for e in events]


async def test_deleting_a_workspace_shuts_everyone_out_and_the_worker_erases_it(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    owner = await make_member(tenant.workspace_id, "owner")
    viewer = await make_member(tenant.workspace_id, "viewer")
    admin = await make_member(tenant.workspace_id, "admin")
    invited = await client.post(
        "/v1/team/invitations",
        json={"email": "late@brand.example", "role": "viewer"},
        headers=bearer(admin.access_token),
    )
    assert invited.status_code == 201
    other = await make_tenant("Other brand")
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for workspace in (tenant, other):
        link = await make_link(db, workspace.workspace_id)
        for _ in range(3):
            await insert_click(db, link, workspace.workspace_id, at)
    name = (await client.get("/v1/workspace", headers=tenant.read)).json()["name"]

    assert (await _delete(client, admin, name)).status_code == 403  # owners only
    wrong = await _delete(client, owner, "not its name")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "query.confirm"
    assert (await client.get("/v1/workspace", headers=tenant.read)).status_code == 200  # nothing changed
    assert (await _delete(client, owner, name)).status_code == 204

    for headers in (tenant.read, tenant.write, bearer(viewer.access_token), bearer(owner.access_token)):
        assert (await client.get("/v1/campaigns", headers=headers)).status_code == 401
    me = (await client.get("/v1/me", headers=bearer(_signed_in(await _login(client, owner))))).json()
    assert tenant.workspace_id not in [m["workspace_id"] for m in me["memberships"]]
    token = await token_sent_to(db, "late@brand.example")
    late = await client.post("/v1/team/invitations/accept", json={"token": token, "name": "Late", "password": "x" * 16})
    assert late.status_code == 422
    assert (await client.get("/v1/campaigns", headers=other.read)).status_code == 200

    assert await erase_deleted_workspaces({"process": db}) == 0  # within the grace period (an hour): kept
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE workspaces SET deleted_at = deleted_at - interval '61 minutes'"))
    assert await erase_deleted_workspaces({"process": db}) == 1
    counts = await _rows(db, tenant.workspace_id), await _rows(db, other.workspace_id)
    assert (
        counts
        == (
            {"workspaces": 0, "clicks": 0, "tracking_links": 0, "click_rollups": 0},
            {"workspaces": 1, "clicks": 3, "tracking_links": 1, "click_rollups": counts[1]["click_rollups"]},
        )
        and counts[1]["click_rollups"] > 0
    )


async def _transfer(client: httpx.AsyncClient, member, person_id: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.post(
        "/v1/team/transfer-ownership", json={"person_id": person_id}, headers=bearer(member.access_token)
    )


async def _delete(client: httpx.AsyncClient, member, confirm: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.delete("/v1/workspace", params={"confirm": confirm}, headers=bearer(member.access_token))


async def _login(client: httpx.AsyncClient, member) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.post("/v1/auth/login", json={"email": member.email, "password": member.password})


def _signed_in(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def _rows(db: ProcessContext, workspace_id: str) -> dict[str, int]:
    async with db.engine.connect() as conn:
        return {
            table: int(
                await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE {column} = :w"), {"w": workspace_id})
            )
            for table, column in (
                ("workspaces", "id"),
                ("clicks", "workspace_id"),
                ("tracking_links", "workspace_id"),
                ("click_rollups", "workspace_id"),
            )
        }
