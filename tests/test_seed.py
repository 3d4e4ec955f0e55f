"""The demo activity `loupe dev` creates: connections through the real pages, a campaign with clicks;
again on every start without doubling anything."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from loupe.seed import DEMO_REPORT, DEMO_TRACKING, seed_demo_activity
from tests.live import live_stack  # noqa: F401


async def test_demo_activity_connects_every_platform_and_is_idempotent(live_stack: Any, make_tenant: Any) -> None:  # noqa: F811
    tenant = await make_tenant("Demo brand")
    async with httpx.AsyncClient(base_url=live_stack.api, headers=tenant.write) as api:
        report = (await api.post("/v1/reports", json={"name": DEMO_REPORT})).json()
    first = await asyncio.to_thread(seed_demo_activity, live_stack.api, live_stack.sandbox, tenant.write_key)
    assert first["connected"] >= 15 and first["clicks"] > 0
    async with httpx.AsyncClient(base_url=live_stack.api, headers=tenant.read) as api:
        accounts = (await api.get("/v1/connected-accounts", params={"limit": 200})).json()["data"]
        workspace = (await api.get("/v1/workspace")).json()
        again = await asyncio.to_thread(seed_demo_activity, live_stack.api, live_stack.sandbox, tenant.write_key)
        after = (await api.get("/v1/connected-accounts", params={"limit": 200})).json()["data"]
        invites = (await api.get("/v1/invites")).json()["data"]
        trackings = (await api.get(f"/v1/reports/{report['id']}/trackings")).json()["data"]
        profiles = (await api.get(f"/v1/trackings/{trackings[0]['id']}/profiles")).json()["data"]
    assert {a["platform"] for a in accounts} == {"instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"}
    assert workspace["connected_accounts"] == len(accounts) <= workspace["connected_accounts_limit"]
    assert again == {"connected": first["connected"], "clicks": 0}
    assert len(after) == len(accounts) and {a["status"] for a in after} == {"active"}
    assert len(invites) == 3 and {i["status"] for i in invites} == {"active"}
    # The demo report's tracking follows the demo creators' Instagram accounts, which it can read.
    assert [t["name"] for t in trackings] == [DEMO_TRACKING["name"]]
    assert profiles and all(p["api_access"] and p["platform"] == "instagram" for p in profiles)
