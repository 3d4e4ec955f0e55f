"""Tracking links under concurrency: copy generation racing an archive, an edit or a rename, and two
requests taking the same name at once. Each test holds one side's transaction open until the other waits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from loupe.links.schemas import LinkUpdate
from loupe.links.service import LinkService
from loupe.workspaces.auth import Principal
from tests import factories
from tests.conftest import Tenant, until_a_lock_is_awaited
from tests.factories import SHOP, campaign_link, creator_link, links_of

pytestmark = pytest.mark.asyncio


async def _promote_while(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, camp_id: str, ada_id: str, change: Any
) -> None:
    """Promotes Ada while `change(service)` sits uncommitted in another transaction, then commits it."""
    principal = Principal(uuid.UUID(tenant.workspace_id), uuid.uuid4(), frozenset({"read", "write"}))
    async with db.sessionmaker() as session:
        await change(LinkService(session, principal))
        promotion = asyncio.create_task(factories.move(client, tenant, camp_id, ada_id, "approved"))
        await until_a_lock_is_awaited(db)
        await session.commit()
    assert (await promotion).status_code == 200


async def test_a_promotion_racing_an_archive_hands_out_no_live_copy(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp = await factories.campaign(client, tenant)
    parent = await campaign_link(client, tenant, camp["id"])
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")

    async def archive(service: LinkService) -> None:
        await service.archive(uuid.UUID(parent["id"]))

    await _promote_while(client, tenant, db, camp["id"], ada["id"], archive)
    assert [c for c in await links_of(client, tenant, influencer_id=ada["id"]) if not c["archived"]] == []


async def test_a_promotion_racing_an_edit_copies_the_edited_link(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp = await factories.campaign(client, tenant)
    parent = await campaign_link(client, tenant, camp["id"])
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")

    async def edit(service: LinkService) -> None:
        await service.update(uuid.UUID(parent["id"]), LinkUpdate(destination="https://shop.example/new"))

    await _promote_while(client, tenant, db, camp["id"], ada["id"], edit)
    [copy] = await links_of(client, tenant, influencer_id=ada["id"])
    assert copy["destination"] == "https://shop.example/new"


async def test_two_links_created_at_once_cannot_share_a_name(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loupe.links.repository import LinkRepository

    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    name_taken = LinkRepository.name_taken

    first = asyncio.Event()

    async def slow_name_taken(*args: Any, **kwargs: Any) -> bool:
        taken = await name_taken(*args, **kwargs)
        if not first.is_set():  # the first check holds on until the other request waits for its lock
            first.set()
            await until_a_lock_is_awaited(db)
        return taken

    monkeypatch.setattr(LinkRepository, "name_taken", slow_name_taken)
    creator, campaign_wide = await asyncio.gather(
        creator_link(client, tenant, camp["id"], ada["id"], name="Shop"),
        client.post(
            f"/v1/campaigns/{camp['id']}/links", json={"name": "shop", "destination": SHOP}, headers=tenant.write
        ),
    )
    assert sorted([creator.status_code, campaign_wide.status_code]) == [201, 409]
    bio = (await creator_link(client, tenant, camp["id"], ada["id"], name="Bio")).json()
    renames = await asyncio.gather(
        client.patch(f"/v1/links/{bio['id']}", json={"name": "Promo"}, headers=tenant.write),
        creator_link(client, tenant, camp["id"], ada["id"], name="promo"),
    )
    assert sorted(r.status_code for r in renames) in ([200, 409], [201, 409])


async def test_a_rename_racing_a_message_render_does_not_deadlock(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp = await factories.campaign(client, tenant)
    parent = await campaign_link(client, tenant, camp["id"])
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")
    principal = Principal(uuid.UUID(tenant.workspace_id), uuid.uuid4(), frozenset({"read", "write"}))
    async with db.sessionmaker() as session:
        service = LinkService(session, principal)
        # The rename holds the campaign lock (as its first step does) while a render makes Ada's copy...
        await service.campaigns.get(uuid.UUID(camp["id"]), for_update=True)
        render = asyncio.create_task(
            client.post(
                f"/v1/campaigns/{camp['id']}/message-preview",
                json={"template": "{{tracking_link:Shop}}", "influencer_id": ada["id"]},
                headers=tenant.write,
            )
        )
        await until_a_lock_is_awaited(db, unless_done=render)
        # ...then locks the link the render is copying.
        await service.update(uuid.UUID(parent["id"]), LinkUpdate(name="Spring"))
        await session.commit()
    assert (await render).status_code == 200
    [copy] = await links_of(client, tenant, influencer_id=ada["id"])
    assert copy["name"] == "Spring"
