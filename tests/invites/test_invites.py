"""Invites through the HTTP API: single and bulk creation, listing, resend limits, the template."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from loupe.invites.models import Invite
from loupe.kit.context import ProcessContext
from loupe.kit.outbox import OutboxMessage
from tests.conftest import Tenant
from tests.factories import count_statements

DUPLICATE = "This email already exists; try using another email."


async def invite(client: httpx.AsyncClient, tenant: Tenant, name: str = "Ada", email: str = "ada@example.com") -> Any:
    response = await client.post("/v1/invites", json={"name": name, "email": email}, headers=tenant.write)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(client: httpx.AsyncClient, tenant: Tenant, content: bytes) -> httpx.Response:
    files = {"file": ("invites.csv", content, "text/csv")}
    return await client.post("/v1/invites/bulk", files=files, headers=tenant.write)


async def outbox(db: ProcessContext) -> list[OutboxMessage]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


async def test_create_gives_a_link_an_influencer_and_queues_the_email(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    body = await invite(client, tenant, "  Ada Lovelace ", "Ada@Example.com")
    assert body["name"] == "Ada Lovelace" and body["status"] == "invited"
    token = body["link"].rsplit("/connect/", 1)[1]
    assert body["link"] == f"{db.settings.public_base_url}/connect/{token}" and len(token) >= 43
    person = await client.get(f"/v1/influencers/{body['influencer_id']}", headers=tenant.read)
    assert person.status_code == 200 and person.json()["email"].lower() == "ada@example.com"
    [message] = await outbox(db)
    assert message.status == "pending" and message.kind == "email"
    assert message.payload["to"] == body["email"]
    assert body["link"] in message.payload["text"] and "Ada Lovelace" in message.payload["text"]
    assert "Acme" in message.payload["subject"]


async def test_tokens_are_unique_and_unguessable(client: httpx.AsyncClient, tenant: Tenant) -> None:
    links = {(await invite(client, tenant, f"P{i}", f"p{i}@example.com"))["link"] for i in range(5)}
    assert len(links) == 5


async def test_an_existing_influencer_is_reused_by_email(client: httpx.AsyncClient, tenant: Tenant) -> None:
    person = await client.post(
        "/v1/influencers", json={"name": "Grace", "email": "GRACE@example.com"}, headers=tenant.write
    )
    body = await invite(client, tenant, "Grace Hopper", "grace@EXAMPLE.com")
    assert body["influencer_id"] == person.json()["id"]


async def test_same_email_again_is_a_conflict_case_insensitive(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, db: ProcessContext
) -> None:
    await invite(client, tenant)
    again = await client.post("/v1/invites", json={"name": "A", "email": "ADA@example.COM"}, headers=tenant.write)
    assert again.status_code == 409 and again.json()["detail"] == DUPLICATE
    assert len(await outbox(db)) == 1  # nothing queued for the refused request
    other = await make_tenant("Rival")
    await invite(client, other)  # another workspace may invite the same person


async def test_bad_bodies_name_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body, field in (
        ({"email": "a@example.com"}, "body.name"),
        ({"name": "A"}, "body.email"),
        ({"name": "A", "email": "not-an-email"}, "body.email"),
        ({"name": "   ", "email": "a@example.com"}, "body.name"),
    ):
        response = await client.post("/v1/invites", json=body, headers=tenant.write)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert (
        await client.post("/v1/invites", json={"name": "A", "email": "a@x.io"}, headers=tenant.read)
    ).status_code == 403


async def test_get_list_filters_and_another_workspace(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    ada = await invite(client, tenant)
    await invite(client, tenant, "Grace", "grace@example.com")
    got = await client.get(f"/v1/invites/{ada['id']}", headers=tenant.read)
    assert got.status_code == 200 and got.json() == ada
    listed = (await client.get("/v1/invites", headers=tenant.read)).json()
    assert [i["name"] for i in listed["data"]] == ["Grace", "Ada"]
    assert [i["name"] for i in (await client.get("/v1/invites?q=GRAC", headers=tenant.read)).json()["data"]] == [
        "Grace"
    ]
    assert len((await client.get("/v1/invites?status=invited", headers=tenant.read)).json()["data"]) == 2
    assert (await client.get("/v1/invites?status=active", headers=tenant.read)).json()["data"] == []
    assert (await client.get("/v1/invites?status=nope", headers=tenant.read)).status_code == 422
    page = (await client.get("/v1/invites?limit=1", headers=tenant.read)).json()
    assert page["has_more"]
    rest = (await client.get(f"/v1/invites?limit=1&cursor={page['next_cursor']}", headers=tenant.read)).json()
    assert [i["name"] for i in rest["data"]] == ["Ada"] and not rest["has_more"]

    rival = await make_tenant("Rival")
    assert (await client.get(f"/v1/invites/{ada['id']}", headers=rival.read)).status_code == 404
    assert (await client.post(f"/v1/invites/{ada['id']}/resend", headers=rival.write)).status_code == 404
    assert (await client.get("/v1/invites", headers=rival.read)).json()["data"] == []
    preview = await client.post("/v1/invite-template/preview", json={"invite_id": ada["id"]}, headers=rival.write)
    assert preview.status_code == 404


async def test_resend_at_most_every_ten_minutes(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> None:
    ada = await invite(client, tenant)
    too_soon = await client.post(f"/v1/invites/{ada['id']}/resend", headers=tenant.write)
    assert too_soon.status_code == 429, too_soon.text
    assert too_soon.headers["content-type"].startswith("application/problem+json")
    assert 590 <= int(too_soon.headers["retry-after"]) <= 601
    async with db.sessionmaker() as session, session.begin():
        await session.execute(update(Invite).values(last_sent_at=func.now() - timedelta(minutes=11)))
    resent = await client.post(f"/v1/invites/{ada['id']}/resend", headers=tenant.write)
    assert resent.status_code == 200 and resent.json()["link"] == ada["link"]
    assert len(await outbox(db)) == 2
    assert (await client.post(f"/v1/invites/{ada['id']}/resend", headers=tenant.write)).status_code == 429


# -- bulk --------------------------------------------------------------------------------------------------


async def test_bulk_creates_every_invite_with_bom_crlf_and_spaces(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    content = "\ufeffname,email\r\n  Ada , ada@example.com \r\nGrace,grace@example.com\r\n\r\n".encode()
    response = await upload(client, tenant, content)
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 2}
    names = {i["name"]: i["email"] for i in (await client.get("/v1/invites", headers=tenant.read)).json()["data"]}
    assert names == {"Ada": "ada@example.com", "Grace": "grace@example.com"}
    assert {m.payload["to"] for m in await outbox(db)} == {"ada@example.com", "grace@example.com"}


async def test_bulk_is_all_or_nothing_and_lists_every_bad_line(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    await invite(client, tenant, "Taken", "taken@example.com")
    content = (
        b"name,email\n"
        b"Ok,ok@example.com\n"  # 2
        b",noname@example.com\n"  # 3
        b"No email,\n"  # 4
        b"Bad,not-an-email\n"  # 5
        b"Dup,OK@example.com\n"  # 6
        b"Fine,fine@example.com\n"  # 7
    )
    response = await upload(client, tenant, content)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["file.line.3.name", "file.line.4.email", "file.line.5.email", "file.line.6.email"]
    assert "line 2" in response.json()["errors"][3]["reason"]
    taken = await upload(client, tenant, b"name,email\nOk,ok@example.com\nAgain,TAKEN@example.com\n")
    assert taken.status_code == 422
    assert taken.json()["errors"] == [{"field": "file.line.3.email", "reason": DUPLICATE}]
    assert len((await client.get("/v1/invites", headers=tenant.read)).json()["data"]) == 1
    assert len(await outbox(db)) == 1


async def test_bulk_refuses_files_that_are_not_invite_csvs(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wrong_header = await upload(client, tenant, b"email,name\na@example.com,A\n")
    assert wrong_header.status_code == 422 and wrong_header.json()["errors"][0]["field"] == "file"
    not_utf8 = await upload(client, tenant, "name,email\nJosé,jose@example.com\n".encode("latin-1"))
    assert not_utf8.status_code == 415, not_utf8.text
    assert not_utf8.headers["content-type"].startswith("application/problem+json")
    empty = await upload(client, tenant, b"name,email\n")
    assert empty.status_code == 422
    missing = await client.post("/v1/invites/bulk", headers=tenant.write, files={"other": ("x.csv", b"x")})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.file"


async def test_bulk_has_a_2_mb_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    rows = "".join(f"Person {i},person{i}@example.com\n" for i in range(80_000))
    content = ("name,email\n" + rows).encode()
    assert len(content) > 2 * 1024 * 1024
    response = await upload(client, tenant, content)
    assert response.status_code == 413, response.text
    assert (await client.get("/v1/invites", headers=tenant.read)).json()["data"] == []


async def test_bulk_uses_a_few_statements_not_one_per_row(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    content = ("name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(1500))).encode()
    with count_statements(db) as statements:
        response = await upload(client, tenant, content)
    assert response.status_code == 201 and response.json() == {"created": 1500}
    assert len(statements) < 40, len(statements)
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == 1500
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1500


async def test_sample_csv_is_a_valid_file(client: httpx.AsyncClient, tenant: Tenant) -> None:
    sample = await client.get("/v1/invites/sample.csv", headers=tenant.read)
    assert sample.status_code == 200 and sample.headers["content-type"].startswith("text/csv")
    assert (await upload(client, tenant, sample.content)).json() == {"created": 2}


# -- template ----------------------------------------------------------------------------------------------


async def test_template_default_save_unknown_tags_and_preview(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    default = (await client.get("/v1/invite-template", headers=tenant.read)).json()
    assert default["is_default"] and "{{invite_link}}" in default["body"]
    assert {t["tag"] for t in default["tags"]} == {"{{creator_name}}", "{{invite_link}}", "{{workspace_name}}"}

    bad = await client.put(
        "/v1/invite-template",
        json={"subject": "Hi {{first_name}}", "body": "{{creator_name}} {{campaign_name}} {{invite_link}}"},
        headers=tenant.write,
    )
    assert bad.status_code == 422
    reasons = {(e["field"], e["reason"].split(";")[0]) for e in bad.json()["errors"]}
    assert reasons == {
        ("body.subject", "Unknown merge tag {{first_name}}"),
        ("body.body", "Unknown merge tag {{campaign_name}}"),
    }
    saved = await client.put(
        "/v1/invite-template",
        json={"subject": "{{workspace_name}} x {{creator_name}}", "body": "Go: {{invite_link}}"},
        headers=tenant.write,
    )
    assert saved.status_code == 200 and not saved.json()["is_default"]
    assert (await client.get("/v1/invite-template", headers=tenant.read)).json()["subject"] == (
        "{{workspace_name}} x {{creator_name}}"
    )

    sample = (await client.post("/v1/invite-template/preview", json={}, headers=tenant.write)).json()
    assert sample["subject"] == "Acme x Ada Lovelace" and sample["to"] == "ada@example.com"
    grace = await invite(client, tenant, "Grace", "grace@example.com")
    preview = await client.post("/v1/invite-template/preview", json={"invite_id": grace["id"]}, headers=tenant.write)
    assert preview.json() == {"to": "grace@example.com", "subject": "Acme x Grace", "body": f"Go: {grace['link']}"}
    [message] = await outbox(db)
    assert message.payload["subject"] == "Acme x Grace"  # new emails use the saved template
    draft = await client.post("/v1/invite-template/preview", json={"body": "{{nope}}"}, headers=tenant.write)
    assert draft.status_code == 422
