"""Shared by the contract tests: the served contract, a seeded workspace built through the HTTP API,
a bridge from synchronous (Hypothesis) test bodies to the session's event loop, and a dump of every table.

Only stable names are imported from the app (`loupe.app`, `loupe.kit.*`, `loupe.config`); resources are
created through the API, so moving a domain's files around does not touch these tests.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
import zlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from loupe.app import create_app
from loupe.kit.context import ProcessContext
from loupe.kit.db import Base
from tests.conftest import Tenant

T = TypeVar("T")

BASE_URL = "http://loupe.test"
SHOP = "https://shop.example/spring?ref=loupe"


def served_contract() -> dict[str, Any]:
    """The contract as the app serves it (read at collection time: a new operation becomes a new test)."""
    return create_app().openapi()


# The /v1 operations anyone may call: signing up and in, and what an emailed link leads to.
PUBLIC_OPERATIONS = {
    "auth_signup",
    "auth_verify_email",
    "auth_login",
    "auth_token",  # the same sign-in as an OAuth 2.0 password grant (/docs' Authorize button)
    "auth_refresh",
    "auth_logout",
    "auth_password_reset",
    "auth_password_reset_confirm",
    "team_invitations_accept",
}


def v1_operations(contract: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (method, path, operation) of every `/v1` operation."""
    return {
        op["operationId"]: (method, path, op)
        for path, item in contract["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    }


def png() -> bytes:
    """A real (1x1, opaque) PNG, so media sniffing accepts it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = png()


def recently(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


class Bridge:
    """Runs coroutines on the test session's event loop from a synchronous test body.

    Schemathesis' pytest tests are Hypothesis tests, called synchronously; the app, its engine and
    its Redis pool live on the session loop (pytest-asyncio), which is idle while a sync test runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        self.loop = loop
        self.client = client

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


async def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else {}  # type: ignore[no-any-return]


@dataclass
class World:
    """One of each resource of a workspace, made through the API. `ids` maps a path parameter name to
    a real id; `spare_key_id` is a write key the fuzzer may revoke (never the key the test calls with)."""

    tenant: Tenant
    ids: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


async def seed(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext | None = None) -> World:
    """A report, two influencers (one a creator of the campaign), a campaign with story capture on, a
    campaign link and a creator link, a captured story, an invite, a spare API key and, with `db`, a click."""
    world = World(tenant)
    headers = tenant.write
    report = await expect(await client.post("/v1/reports", json={"name": "Q1"}, headers=headers), 201)
    ada = await expect(
        await client.post(
            "/v1/influencers",
            json={"name": "Ada", "email": "ada@example.com", "tags": ["beauty"]},
            headers=headers,
        ),
        201,
    )
    grace = await expect(await client.post("/v1/influencers", json={"name": "Grace"}, headers=headers), 201)
    campaign = await expect(
        await client.post(
            "/v1/campaigns",
            json={"name": "Spring", "starts_on": "2026-01-01", "story_capture": True},
            headers=headers,
        ),
        201,
    )
    cid = campaign["id"]
    await expect(
        await client.post(f"/v1/campaigns/{cid}/creators", json={"influencer_ids": [ada["id"]]}, headers=headers), 200
    )
    for stage in ("approved", "active"):
        await expect(
            await client.patch(f"/v1/campaigns/{cid}/creators/{ada['id']}", json={"stage": stage}, headers=headers),
            200,
        )
    campaign_link = await expect(
        await client.post(f"/v1/campaigns/{cid}/links", json={"name": "Shop", "destination": SHOP}, headers=headers),
        201,
    )
    creator_link = await expect(
        await client.post(
            "/v1/links",
            json={"campaign_id": cid, "influencer_id": ada["id"], "name": "Bio", "destination": SHOP},
            headers=headers,
        ),
        201,
    )
    story = await expect(
        await client.post(
            f"/v1/campaigns/{cid}/creators/{ada['id']}/stories",
            data={"posted_at": recently(), "views": "10"},
            files={"media": ("story.png", PNG, "image/png")},
            headers=headers,
        ),
        201,
    )
    spare = await expect(
        await client.post("/v1/api-keys", json={"name": "spare", "scopes": ["read", "write"]}, headers=headers), 201
    )
    invite = await expect(
        await client.post(
            "/v1/invites", json={"name": "Ada", "email": f"ada-{new_uuid()}@example.com"}, headers=headers
        ),
        201,
    )
    invitation = await expect(
        await client.post("/v1/team/invitations", json={"email": f"mate-{new_uuid()}@example.com"}, headers=headers),
        201,
    )
    account_id, content_id = (
        await insert_connected_account(db, tenant.workspace_id, invite) if db else (new_uuid(), new_uuid())
    )
    member_id = await insert_member(db, tenant.workspace_id) if db else new_uuid()
    tracking = await expect(
        await client.post(
            f"/v1/reports/{report['id']}/trackings",
            json={
                "name": f"Spring {new_uuid()}",
                "network": "instagram",
                "hashtags": ["spring"],
                "start_date": recently()[:10],
            },
            headers=headers,
        ),
        201,
    )
    await expect(
        await client.post(f"/v1/trackings/{tracking['id']}/profiles", json={"handles": ["@ada"]}, headers=headers), 200
    )
    vip = await expect(
        await client.post("/v1/influencer-lists", json={"name": f"VIP {new_uuid()}"}, headers=headers), 201
    )
    world.ids = {
        "invite_id": invite["id"],
        "connected_account_id": account_id,
        "content_id": content_id,
        "report_id": report["id"],
        "influencer_id": ada["id"],
        "campaign_id": cid,
        "link_id": creator_link["id"],
        "story_id": story["id"],
        "api_key_id": spare["id"],
        "invitation_id": invitation["id"],
        "person_id": member_id,
        "tracking_id": tracking["id"],
        "list_id": vip["id"],
    }
    world.extra = {"other_influencer_id": grace["id"], "campaign_link_id": campaign_link["id"]}
    if db is not None:
        world.extra["click_id"] = await insert_click(db, tenant.workspace_id, creator_link["id"])
    return world


async def insert_connected_account(db: ProcessContext, workspace_id: str, invite: dict[str, Any]) -> tuple[str, str]:
    """A connection and its grant as the creator pages store them (the OAuth trip is tested in
    tests/connections), and one content of it as the refresh stores it: (grant id, content id)."""
    from loupe.accounts.models import AccountContent
    from loupe.connections.models import Connection, Grant

    async with db.sessionmaker() as session, session.begin():
        connection = Connection(
            platform="tiktok",
            platform_user_id=f"open-{new_uuid()}",
            username="ada.tiktok",
            access_token_enc=db.vault.encrypt("sandbox-token"),
            scopes=["video.list"],
        )
        session.add(connection)
        await session.flush()
        grant = Grant(
            workspace_id=uuid.UUID(workspace_id),
            connection_id=connection.id,
            invite_id=uuid.UUID(invite["id"]),
            influencer_id=uuid.UUID(invite["influencer_id"]),
        )
        session.add(grant)
        key = f"contract/{new_uuid()}.png"  # a copied media file, as the story poll stores one
        db.media.path_of(key).parent.mkdir(parents=True, exist_ok=True)
        db.media.path_of(key).write_bytes(PNG)
        content = AccountContent(
            connection_id=connection.id,
            platform="tiktok",
            platform_content_id=f"video-{new_uuid()}",
            type="video",
            published_at=datetime.now(UTC) - timedelta(hours=1),
            metrics={"likes": 10, "views": 100},
            media=[{"url": "https://cdn.example/v.png", "path": key, "content_type": "image/png", "size": len(PNG)}],
        )
        session.add(content)
    return str(grant.id), str(content.id)


async def insert_member(db: ProcessContext, workspace_id: str) -> str:
    """A teammate (a verified person, member of the workspace), as an accepted invitation makes one."""
    from loupe.people.models import Membership, Person, Role

    async with db.sessionmaker() as session, session.begin():
        person = Person(
            name="Mate", email=f"mate-{new_uuid()}@example.com", password_hash="-", email_verified_at=datetime.now(UTC)
        )
        session.add(person)
        await session.flush()
        session.add(Membership(workspace_id=uuid.UUID(workspace_id), person_id=person.id, role=Role.member))
    return str(person.id)


async def insert_click(db: ProcessContext, workspace_id: str, link_id: str) -> str:
    """A click as the flush stores it (clicks are buffered in Redis and written by the worker; a
    conversion needs one already in the table)."""
    from tests.clicks.support import insert_click as insert

    return await insert(db, {"id": link_id}, workspace_id, recently(minutes=5))


# Columns that change on reads (the key's last use is stamped by authentication).
VOLATILE = {("api_keys", "last_used_at")}


async def dump(db: ProcessContext) -> dict[str, list[str]]:
    """Every table's rows (as text), ordered by primary key, without volatile columns."""
    out: dict[str, list[str]] = {}
    async with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            order = list(table.primary_key.columns) or columns
            rows = (await conn.execute(select(*columns).order_by(*order))).mappings().all()
            out[table.name] = [repr(dict(row)) for row in rows]
    return out


def diff(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    changes = []
    for name in before:
        changes += [f"{name}: removed or changed {row}" for row in before[name] if row not in after[name]]
        changes += [f"{name}: added or changed {row}" for row in after[name] if row not in before[name]]
    return changes


def new_uuid() -> str:
    return str(uuid.uuid4())
