"""The demo activity `loupe dev` creates: connections through the real pages, a campaign with clicks;
again on every start without doubling anything."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from loupe.seed import seed_demo_activity
from tests.live import live_stack  # noqa: F401


async def test_demo_activity_connects_every_platform_and_is_idempotent(live_stack: Any, make_tenant: Any) -> None:  # noqa: F811
    tenant = await make_tenant("Demo brand")
    first = await asyncio.to_thread(seed_demo_activity, live_stack.api, live_stack.sandbox, tenant.write_key)
    assert first["connected"] >= 15 and first["clicks"] > 0
    async with httpx.AsyncClient(base_url=live_stack.api, headers=tenant.read) as api:
        accounts = (await api.get("/v1/connected-accounts", params={"limit": 200})).json()["data"]
        workspace = (await api.get("/v1/workspace")).json()
        again = await asyncio.to_thread(seed_demo_activity, live_stack.api, live_stack.sandbox, tenant.write_key)
        after = (await api.get("/v1/connected-accounts", params={"limit": 200})).json()["data"]
        invites = (await api.get("/v1/invites")).json()["data"]
    assert {a["platform"] for a in accounts} == {"instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"}
    assert workspace["connected_accounts"] == len(accounts) <= workspace["connected_accounts_limit"]
    assert again == {"connected": first["connected"], "clicks": 0}
    assert len(after) == len(accounts) and {a["status"] for a in after} == {"active"}
    assert len(invites) == 3 and {i["status"] for i in invites} == {"active"}
