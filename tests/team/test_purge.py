"""The worker deletes sign-in sessions, emailed links and invitations a week after they stopped working."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from loupe.kit.context import ProcessContext
from loupe.people.models import AuthSession, PersonToken
from loupe.team.jobs import purge_dead_credentials_job
from loupe.team.models import TeamInvitation
from tests.conftest import Tenant
from tests.team.support import PASSWORD, sign_up


async def test_dead_credentials_are_purged_a_week_later_and_live_ones_stay(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_member
) -> None:
    await sign_up(client, db, "old@brand.example")  # spends its verify link, opens a session
    second = await client.post("/v1/auth/login", json={"email": "old@brand.example", "password": PASSWORD})
    assert second.status_code == 200
    admin = await make_member(tenant.workspace_id, "admin")
    for email in ("gone@brand.example", "pending@brand.example"):
        made = await client.post("/v1/team/invitations", json={"email": email, "role": "viewer"}, headers=admin.headers)
        assert made.status_code == 201, made.text
    async with db.engine.begin() as conn:
        week_ago = "now() - interval '8 days'"
        await conn.execute(text(f"UPDATE person_tokens SET used_at = {week_ago} WHERE used_at IS NOT NULL"))
        await conn.execute(
            text(
                f"UPDATE auth_sessions SET revoked_at = {week_ago}"
                " WHERE id = (SELECT id FROM auth_sessions ORDER BY created_at LIMIT 1)"
            )
        )
        await conn.execute(
            text(f"UPDATE team_invitations SET expires_at = {week_ago} WHERE email = 'gone@brand.example'")
        )
    async with db.sessionmaker() as session:
        sessions_before = len((await session.scalars(select(AuthSession))).all())

    purged = await purge_dead_credentials_job({"process": db})

    assert purged["sessions"] == 1 and purged["invitations"] == 1 and purged["person_tokens"] >= 1
    async with db.sessionmaker() as session:
        assert len((await session.scalars(select(AuthSession))).all()) == sessions_before - 1
        assert (await session.scalars(select(PersonToken))).all() == []
        left = [i.email for i in (await session.scalars(select(TeamInvitation))).all()]
    assert left == ["pending@brand.example"]
    again = await client.post("/v1/auth/login", json={"email": "old@brand.example", "password": PASSWORD})
    assert again.status_code == 200  # the person and their live sessions are untouched
    assert await purge_dead_credentials_job({"process": db}) == {"person_tokens": 0, "sessions": 0, "invitations": 0}
