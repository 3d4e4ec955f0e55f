"""Sign-up, email verification, sign-in, rotating refresh tokens, switching workspace, sessions, sign-out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest

from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.kit.jobs import QUEUE_NAME
from loupe.people.tokens import AccessClaims, issue_access, signing_keys
from loupe.team.jobs import SIGNUP_JOB, finish_signup
from tests.conftest import Tenant
from tests.team.support import PASSWORD, bearer, emails_to, finish_signups, sign_up, token_sent_to


async def test_sign_up_verify_and_sign_in(client: httpx.AsyncClient, db: ProcessContext) -> None:
    body = {"name": "Grace", "email": "grace@brand.example", "password": PASSWORD}
    assert (await client.post("/v1/auth/signup", json=body)).status_code == 202
    assert await finish_signups(db) == ["grace@brand.example"]
    login = {"email": "grace@brand.example", "password": PASSWORD}
    unverified = await client.post("/v1/auth/login", json=login)
    assert unverified.status_code == 403 and "Confirm your email" in unverified.json()["detail"]

    token = await token_sent_to(db, "grace@brand.example")
    assert (await client.post("/v1/auth/verify-email", json={"token": token})).status_code == 200
    again = await client.post("/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "body.token"  # single use

    tokens = (await client.post("/v1/auth/login", json=login)).json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["workspace_id"] is None  # no workspace yet
    me = (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    assert me["email"] == "grace@brand.example" and me["email_verified"] and me["memberships"] == []
    # A token without a workspace reaches nothing of a workspace.
    reports = await client.get("/v1/reports", headers=bearer(tokens["access_token"]))
    assert reports.status_code == 403 and "/v1/auth/switch" in reports.json()["detail"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("grace-hopper-2026", "email"),
    ],
)
async def test_weak_passwords_are_refused(
    client: httpx.AsyncClient, db: ProcessContext, password: str, reason: str
) -> None:
    body = {"name": "Grace", "email": "grace-hopper@brand.example", "password": password}
    answer = await client.post("/v1/auth/signup", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "body.password" and reason in answer.json()["errors"][0]["reason"]
    assert await finish_signups(db) == []  # nothing queued
    assert await emails_to(db, "grace-hopper@brand.example") == []


async def test_signing_up_again_answers_the_same_and_tells_the_owner(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    await sign_up(client, db, "ada@brand.example")
    first = await client.post(
        "/v1/auth/signup", json={"name": "Ada", "email": "new@brand.example", "password": PASSWORD}
    )
    again = await client.post(
        "/v1/auth/signup", json={"name": "Eve", "email": "ADA@brand.example", "password": PASSWORD}
    )
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await finish_signups(db) == ["new@brand.example", "ADA@brand.example"]
    mails = await emails_to(db, "ada@brand.example")
    assert "already has an account" in mails[-1]["text"]
    login = await client.post("/v1/auth/login", json={"email": "ada@brand.example", "password": PASSWORD})
    assert login.status_code == 200  # Eve's attempt changed nothing


async def test_two_sign_ups_of_one_new_email_at_once_make_one_account(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    """Two workers finishing the same new email together: one account, the other told it exists."""
    body = {"name": "Ada", "email": "twice@brand.example", "password": PASSWORD}
    for _ in range(2):
        assert (await client.post("/v1/auth/signup", json=body)).status_code == 202
    queued = [job.kwargs for job in await db.arq.queued_jobs(queue_name=QUEUE_NAME) if job.function == SIGNUP_JOB]
    assert len(queued) == 2
    made = await asyncio.gather(*(finish_signup({"process": db}, **kwargs) for kwargs in queued))
    assert sorted(made) == [False, True]
    texts = [mail["text"] for mail in await emails_to(db, "twice@brand.example")]
    assert len(texts) == 2 and sum("already has an account" in text for text in texts) == 1


async def test_a_wrong_password_and_an_unknown_email_answer_alike(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    await sign_up(client, db, "ada@brand.example")
    wrong = await client.post("/v1/auth/login", json={"email": "ada@brand.example", "password": "not the password"})
    unknown = await client.post(
        "/v1/auth/login", json={"email": "nobody@brand.example", "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == {**unknown.json(), "instance": wrong.json()["instance"]}


async def test_refresh_rotates_and_a_reused_token_ends_the_session(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    first = await sign_up(client, db, "ada@brand.example")
    second = (await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert (await client.get("/v1/me", headers=bearer(second["access_token"]))).status_code == 200

    # The first refresh token comes back (a copy someone kept): the whole family is revoked.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and "already used" in reused.json()["detail"]
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401
    assert (await client.get("/v1/me", headers=bearer(second["access_token"]))).status_code == 401


async def test_an_expired_or_forged_access_token_is_refused(client: httpx.AsyncClient, db: ProcessContext) -> None:
    tokens = await sign_up(client, db, "ada@brand.example")
    me = (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    sessions = (await client.get("/v1/me/sessions", headers=bearer(tokens["access_token"]))).json()["data"]
    claims = AccessClaims(uuid.UUID(me["id"]), uuid.UUID(sessions[0]["id"]), None)
    keys = signing_keys(db.vault.keys)
    fresh = issue_access(keys, claims, utcnow() - timedelta(minutes=14))
    assert (await client.get("/v1/me", headers=bearer(fresh))).status_code == 200
    expired = issue_access(keys, claims, utcnow() - timedelta(minutes=16))
    answer = await client.get("/v1/me", headers=bearer(expired))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    forged = issue_access([b"k" * 32], claims, utcnow())
    assert (await client.get("/v1/me", headers=bearer(forged))).status_code == 401


async def test_logout_ends_the_session_at_once(client: httpx.AsyncClient, db: ProcessContext) -> None:
    tokens = await sign_up(client, db, "ada@brand.example")
    assert (await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code == 204
    assert (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await client.post("/v1/auth/logout", json={"refresh_token": "lr_unknown"})).status_code == 204


async def test_sessions_are_listed_and_revocable(client: httpx.AsyncClient, db: ProcessContext) -> None:
    laptop = await sign_up(client, db, "ada@brand.example")
    phone = (
        await client.post(
            "/v1/auth/login",
            json={"email": "ada@brand.example", "password": PASSWORD},
            headers={"User-Agent": "Phone/1.0"},
        )
    ).json()
    listed = (await client.get("/v1/me/sessions", headers=bearer(laptop["access_token"]))).json()["data"]
    assert len(listed) == 2
    assert [s["user_agent"] for s in listed if not s["current"]] == ["Phone/1.0"]
    other = next(s for s in listed if not s["current"])
    assert (
        await client.delete(f"/v1/me/sessions/{other['id']}", headers=bearer(laptop["access_token"]))
    ).status_code == 204
    assert (await client.get("/v1/me", headers=bearer(phone["access_token"]))).status_code == 401
    assert (await client.get("/v1/me", headers=bearer(laptop["access_token"]))).status_code == 200

    # Another person's session is not theirs to end: 404, and it goes on.
    eve = await sign_up(client, db, "eve@brand.example")
    eves = (await client.get("/v1/me/sessions", headers=bearer(eve["access_token"]))).json()["data"][0]
    assert (
        await client.delete(f"/v1/me/sessions/{eves['id']}", headers=bearer(laptop["access_token"]))
    ).status_code == 404
    assert (await client.get("/v1/me", headers=bearer(eve["access_token"]))).status_code == 200


async def test_keys_cannot_call_a_persons_routes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answer = await client.get("/v1/me", headers=tenant.write)
    assert answer.status_code == 403 and "person" in answer.json()["detail"]


async def test_workspaces_switch_and_a_removed_member_loses_access(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    ada = await make_member(tenant.workspace_id, "member", email="ada@brand.example")
    own = (await client.post("/v1/workspaces", json={"name": "Ada's brand"}, headers=ada.headers)).json()
    assert own["role"] == "owner"
    me = (await client.get("/v1/me", headers=ada.headers)).json()
    assert {(m["workspace_name"], m["role"]) for m in me["memberships"]} == {
        ("Acme", "member"),
        ("Ada's brand", "owner"),
    }
    assert me["workspace_id"] == tenant.workspace_id

    switched = await client.post("/v1/auth/switch", json={"workspace_id": own["id"]}, headers=ada.headers)
    assert switched.status_code == 200 and switched.json()["workspace_id"] == own["id"]
    mine = bearer(switched.json()["access_token"])
    assert (await client.get("/v1/workspace", headers=mine)).json()["name"] == "Ada's brand"
    assert (await client.post("/v1/api-keys", json={"name": "ci"}, headers=mine)).status_code == 201  # owner
    # The new refresh token renews in the new workspace (the one of before the switch is spent).
    renewed = await client.post("/v1/auth/refresh", json={"refresh_token": switched.json()["refresh_token"]})
    assert renewed.json()["workspace_id"] == own["id"]

    elsewhere = await client.post("/v1/auth/switch", json={"workspace_id": str(uuid.uuid4())}, headers=mine)
    assert elsewhere.status_code == 404

    # Removed from Acme, a token bound to Acme stops working at once.
    back = await client.post(
        "/v1/auth/switch", json={"workspace_id": tenant.workspace_id}, headers=bearer(renewed.json()["access_token"])
    )
    acme = bearer(back.json()["access_token"])
    assert (await client.get("/v1/reports", headers=acme)).status_code == 200
    assert (await client.delete(f"/v1/team/members/{ada.person_id}", headers=tenant.write)).status_code == 204
    assert (await client.get("/v1/reports", headers=acme)).status_code == 401
