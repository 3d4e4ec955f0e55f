"""A workspace's team: invitations by email, members and roles, the last owner, organizations."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.team.models import TeamInvitation
from tests.conftest import Tenant
from tests.team.support import PASSWORD, bearer, emails_to, token_sent_to


async def test_an_invitation_is_emailed_accepted_once_and_makes_a_member(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    admin = await make_member(tenant.workspace_id, "admin")
    made = await client.post(
        "/v1/team/invitations", json={"email": "mate@brand.example", "role": "viewer"}, headers=admin.headers
    )
    assert made.status_code == 201 and made.json()["status"] == "pending"
    assert made.json()["invited_by_person_id"] == admin.person_id
    assert "Acme" in (await emails_to(db, "mate@brand.example"))[0]["subject"]
    token = await token_sent_to(db, "mate@brand.example")

    weak = await client.post("/v1/team/invitations/accept", json={"token": token, "name": "Mate", "password": "short"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "body.password"
    accepted = await client.post(
        "/v1/team/invitations/accept", json={"token": token, "name": "Mate", "password": PASSWORD}
    )
    assert accepted.status_code == 200 and accepted.json()["created_account"] and accepted.json()["role"] == "viewer"
    again = await client.post(
        "/v1/team/invitations/accept", json={"token": token, "name": "Mate", "password": PASSWORD}
    )
    assert again.status_code == 422

    login = await client.post("/v1/auth/login", json={"email": "mate@brand.example", "password": PASSWORD})
    assert login.json()["workspace_id"] == tenant.workspace_id  # the invitation proved the mailbox
    members = (await client.get("/v1/team/members", headers=bearer(login.json()["access_token"]))).json()["data"]
    assert ("mate@brand.example", "viewer") in {(m["email"], m["role"]) for m in members}
    listed = (await client.get("/v1/team/invitations", headers=admin.headers)).json()["data"]
    assert [i["status"] for i in listed] == ["accepted"]


async def test_revoked_and_expired_invitations_cannot_be_accepted(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant
) -> None:
    revoked = (
        await client.post("/v1/team/invitations", json={"email": "a@brand.example"}, headers=tenant.write)
    ).json()
    answer = await client.delete(f"/v1/team/invitations/{revoked['id']}", headers=tenant.write)
    assert answer.json()["status"] == "revoked"
    late = (await client.post("/v1/team/invitations", json={"email": "b@brand.example"}, headers=tenant.write)).json()
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(TeamInvitation)
            .where(TeamInvitation.email == "b@brand.example")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert [i["status"] for i in (await client.get("/v1/team/invitations", headers=tenant.write)).json()["data"]] == [
        "expired",
        "revoked",
    ]
    for email in ("a@brand.example", "b@brand.example"):
        body = {"token": await token_sent_to(db, email), "name": "X", "password": PASSWORD}
        assert (await client.post("/v1/team/invitations/accept", json=body)).status_code == 422
    assert late["status"] == "pending"


async def test_roles_admins_owners_and_the_last_owner(client: httpx.AsyncClient, tenant: Tenant, make_member) -> None:  # type: ignore[no-untyped-def]
    owner = await make_member(tenant.workspace_id, "owner")
    admin = await make_member(tenant.workspace_id, "admin")
    member = await make_member(tenant.workspace_id, "member")

    def role_url(who: object) -> str:
        return f"/v1/team/members/{who.person_id}"  # type: ignore[attr-defined]

    # Admins manage roles below owner; only an owner makes, demotes or removes an owner.
    assert (await client.patch(role_url(member), json={"role": "viewer"}, headers=admin.headers)).json()[
        "role"
    ] == "viewer"
    assert (await client.patch(role_url(member), json={"role": "owner"}, headers=admin.headers)).status_code == 403
    assert (await client.patch(role_url(owner), json={"role": "admin"}, headers=admin.headers)).status_code == 403
    assert (await client.delete(role_url(owner), headers=admin.headers)).status_code == 403
    owner_invite = await client.post(
        "/v1/team/invitations", json={"email": "o@brand.example", "role": "owner"}, headers=admin.headers
    )
    assert owner_invite.status_code == 403

    # The last owner can neither be demoted nor leave.
    demoted = await client.patch(role_url(owner), json={"role": "admin"}, headers=owner.headers)
    assert demoted.status_code == 409 and "last owner" in demoted.json()["detail"]
    assert (await client.delete(role_url(owner), headers=owner.headers)).status_code == 409
    # With a second owner, the first may step down.
    assert (await client.patch(role_url(admin), json={"role": "owner"}, headers=owner.headers)).status_code == 200
    assert (await client.patch(role_url(owner), json={"role": "member"}, headers=owner.headers)).status_code == 200

    # A viewer may leave but not remove anyone else; a viewer reads the team but cannot change it.
    viewer = member
    assert (await client.get("/v1/team/members", headers=viewer.headers)).status_code == 200
    assert (await client.delete(role_url(owner), headers=viewer.headers)).status_code == 403
    assert (await client.delete(role_url(viewer), headers=viewer.headers)).status_code == 204
    assert (await client.get("/v1/team/members", headers=viewer.headers)).status_code == 401


async def test_an_organizations_admins_reach_all_its_workspaces(
    client: httpx.AsyncClient, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    boss = await make_member(tenant.workspace_id, "viewer")
    agency = (await client.post("/v1/organizations", json={"name": "Northwind"}, headers=boss.headers)).json()
    brand = await client.post(
        "/v1/workspaces", json={"name": "Client A", "organization_id": agency["id"]}, headers=boss.headers
    )
    assert brand.status_code == 201
    me = (await client.get("/v1/me", headers=boss.headers)).json()
    assert [o["name"] for o in me["organizations"]] == ["Northwind"]
    assert {m["workspace_name"] for m in me["memberships"]} == {"Acme", "Client A"}

    outsider = await make_member(tenant.workspace_id, "member")
    refused = await client.post(
        "/v1/workspaces", json={"name": "Mine", "organization_id": agency["id"]}, headers=outsider.headers
    )
    assert refused.status_code == 403
