"""Signing in through the OAuth 2.0 password grant (what /docs' Authorize button does), and sign-ins,
sign-outs and failed sign-ins in the audit log of the person's workspaces."""

from __future__ import annotations

import httpx

from loupe.kit.context import ProcessContext
from loupe.team.jobs import record_failed_sign_in
from tests.conftest import Tenant
from tests.team.support import bearer


def _grant(email: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": password, "scope": ""}


async def test_the_password_grant_signs_in_like_login(client: httpx.AsyncClient, tenant: Tenant, make_member) -> None:  # type: ignore[no-untyped-def]
    member = await make_member(tenant.workspace_id, "viewer")
    answer = await client.post("/v1/auth/token", data=_grant(member.email, member.password))
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "bearer" and tokens["workspace_id"] == tenant.workspace_id
    me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == member.email
    wrong = await client.post("/v1/auth/token", data=_grant(member.email, "not the password"))
    unknown = await client.post("/v1/auth/token", data=_grant("nobody@brand.example", "not the password"))
    assert wrong.status_code == unknown.status_code == 401 and wrong.json()["detail"] == unknown.json()["detail"]
    grant = {**_grant(member.email, member.password), "grant_type": "client_credentials"}
    other = await client.post("/v1/auth/token", data=grant)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "body.grant_type"


async def test_the_contract_offers_the_password_grant_on_every_secured_operation(client: httpx.AsyncClient) -> None:
    contract = (await client.get("/openapi.json")).json()
    scheme = contract["components"]["securitySchemes"]["SignIn"]
    assert scheme["type"] == "oauth2" and scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    secured = [op for path in contract["paths"].values() for op in path.values() if op.get("security")]
    assert secured and all({"SignIn": []} in op["security"] for op in secured)
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text  # served by us, no CDN
    assert (await client.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200


async def test_sign_ins_sign_outs_and_failures_are_audited(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    admin = await make_member(tenant.workspace_id, "admin")
    member = await make_member(tenant.workspace_id, "member")
    failed = await client.post("/v1/auth/login", json={"email": member.email, "password": "wrong one"})
    assert failed.status_code == 401
    assert (await client.post("/v1/auth/logout", json={"refresh_token": member.refresh_token})).status_code == 204
    # The worker records the failure (the request does the same work for an unknown email).
    jobs = await db.arq.queued_jobs()
    failures = [job.kwargs for job in jobs if job.function == "record_failed_sign_in"]
    assert [f["email"] for f in failures] == [member.email]
    assert await record_failed_sign_in({"process": db}, **failures[0]) == 1
    assert (
        await record_failed_sign_in(
            {"process": db}, "nobody@brand.example", "192.0.2.1", "/v1/auth/login", failures[0]["at"]
        )
        == 0
    )

    events = (await client.get("/v1/audit-events", params={"actor_id": member.person_id}, headers=admin.headers)).json()
    assert [(e["action"], e["resource_type"]) for e in events["data"]] == [  # newest first; the failure
        ("auth_logout", "sessions"),  # is dated when it happened, before the sign-out
        ("auth_login_failed", "people"),
        ("auth_login", "sessions"),
    ]
    login, logout = events["data"][-1], next(e for e in events["data"] if e["action"] == "auth_logout")
    assert login["resource_id"] == logout["resource_id"]  # the same session, begun and ended
    assert all(e["actor_id"] == member.person_id and e["method"] == "POST" for e in events["data"])
    again = await client.post("/v1/auth/logout", json={"refresh_token": member.refresh_token})
    assert again.status_code == 204  # an ended session: nothing more is recorded
    after = (await client.get("/v1/audit-events", params={"actor_id": member.person_id}, headers=admin.headers)).json()
    assert len(after["data"]) == 3


async def test_ending_a_session_from_the_list_is_audited_in_its_workspace(
    client: httpx.AsyncClient, tenant: Tenant, make_member
) -> None:  # type: ignore[no-untyped-def]
    admin = await make_member(tenant.workspace_id, "admin")
    member = await make_member(tenant.workspace_id, "member")
    other = (await client.post("/v1/auth/login", json={"email": member.email, "password": member.password})).json()
    listed = (await client.get("/v1/me/sessions", headers=member.headers)).json()["data"]
    target = next(s for s in listed if not s["current"] and s["workspace_id"] == tenant.workspace_id)
    ended = await client.delete(f"/v1/me/sessions/{target['id']}", headers=member.headers)
    assert ended.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(other["access_token"]))).status_code == 401
    events = (await client.get("/v1/audit-events", params={"actor_id": member.person_id}, headers=admin.headers)).json()
    revoked = [e for e in events["data"] if e["action"] == "me_sessions_revoke"]
    assert [(e["resource_type"], e["resource_id"], e["method"]) for e in revoked] == [
        ("me_sessions", target["id"], "DELETE")
    ]
