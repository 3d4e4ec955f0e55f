"""A browser app on another origin, start to finish: sign up, confirm the email, create a workspace, invite a
teammate as viewer; the teammate accepts, signs in, reads, and cannot write."""

from __future__ import annotations

import httpx

from loupe.kit.context import ProcessContext
from tests.team.support import PASSWORD, bearer, sign_up, token_sent_to


async def test_sign_up_create_a_workspace_invite_a_viewer(client: httpx.AsyncClient, db: ProcessContext) -> None:
    founder = await sign_up(client, db, "founder@brand.example", name="Frida")
    made = await client.post(
        "/v1/workspaces", json={"name": "Frida Cosmetics"}, headers=bearer(founder["access_token"])
    )
    assert made.status_code == 201, made.text
    workspace_id = made.json()["id"]
    switched = (
        await client.post(
            "/v1/auth/switch", json={"workspace_id": workspace_id}, headers=bearer(founder["access_token"])
        )
    ).json()
    owner = bearer(switched["access_token"])
    assert (
        await client.post("/v1/campaigns", json={"name": "Launch", "starts_on": "2026-03-01"}, headers=owner)
    ).status_code == 201
    invited = await client.post(
        "/v1/team/invitations", json={"email": "viewer@brand.example", "role": "viewer"}, headers=owner
    )
    assert invited.status_code == 201, invited.text

    token = await token_sent_to(db, "viewer@brand.example")
    accepted = await client.post(
        "/v1/team/invitations/accept", json={"token": token, "name": "Vic", "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    login = await client.post("/v1/auth/login", json={"email": "viewer@brand.example", "password": PASSWORD})
    assert login.json()["workspace_id"] == workspace_id
    viewer = bearer(login.json()["access_token"])

    campaigns = await client.get("/v1/campaigns", headers=viewer)
    assert [c["name"] for c in campaigns.json()["data"]] == ["Launch"]
    refused = await client.post("/v1/campaigns", json={"name": "Mine", "starts_on": "2026-04-01"}, headers=viewer)
    assert refused.status_code == 403 and "`viewer`" in refused.json()["detail"]
    assert (await client.post("/v1/api-keys", json={"name": "x"}, headers=viewer)).status_code == 403
    assert [c["name"] for c in (await client.get("/v1/campaigns", headers=owner)).json()["data"]] == ["Launch"]
    members = (await client.get("/v1/team/members", headers=viewer)).json()["data"]
    assert {(m["email"], m["role"]) for m in members} == {
        ("founder@brand.example", "owner"),
        ("viewer@brand.example", "viewer"),
    }
    # The founder's admin view: every write of the story, by whom.
    events = (await client.get("/v1/audit-events", headers=owner)).json()["data"]
    assert [e["action"] for e in reversed(events)] == [
        "workspaces_create",
        "campaigns_create",
        "team_invitations_create",
        "team_invitations_accept",
        "auth_login",  # the viewer's sign-in
    ]
    assert {e["actor_type"] for e in events} == {"person"}
