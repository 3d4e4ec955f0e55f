"""The tracking's opt-in link: a creator who connects through it joins the tracking with API access, which
turns to no when access to the account is lost."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from loupe.accounts.refresh import refresh_connection
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from tests.accounts.test_refresh import connection_of
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account

pytestmark = pytest.mark.asyncio


async def test_a_creator_connecting_through_the_link_is_added_to_the_tracking(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    report = (await client.post("/v1/reports", json={"name": "Opt-in"}, headers=tenant.write)).json()
    body = {
        "name": "Opt-in",
        "network": "instagram",
        "hashtags": ["x"],
        "start_date": datetime.now(UTC).date().isoformat(),
    }
    tracking = (await client.post(f"/v1/reports/{report['id']}/trackings", json=body, headers=tenant.write)).json()
    answer = await client.get(f"/v1/trackings/{tracking['id']}/invite-link", headers=tenant.read)
    assert answer.status_code == 200
    url = answer.json()["url"]
    assert url.endswith(f"?tracking={tracking['id']}") and "/connect/w/" in url

    path = url.split("loupe.test", 1)[-1] if "loupe.test" in url else "/" + url.split("/", 3)[3]
    page = await creator.ours.get(path)
    assert page.status_code == 200 and f'value="{tracking["id"]}"' in page.text
    joined = await creator.ours.post(path.split("?")[0], data={"name": "Ada", "email": "ada@example.com",
                                                               "tracking": tracking["id"]})  # fmt: skip
    assert joined.status_code == 303
    invite_token = joined.headers["location"].rsplit("/", 1)[1]
    ig = account(sandbox, "instagram", creator=2)
    await creator.connect(invite_token, "instagram", ig.id)

    profiles = (await client.get(f"/v1/trackings/{tracking['id']}/profiles", headers=tenant.read)).json()["data"]
    assert [(p["handle"], p["api_access"], p["invite_status"], p["influencer_name"]) for p in profiles] == [
        (ig.username.lower(), True, "active", "Ada")
    ]

    # The creator removes our app at the platform: the next refresh finds it out and API access is "no".
    sandbox.add_fault("instagram", "token_revoked", account=ig.id)
    await refresh_connection({"process": connect_ctx, "job_try": 1}, str((await connection_of(connect_ctx)).id))
    profiles = (await client.get(f"/v1/trackings/{tracking['id']}/profiles", headers=tenant.read)).json()["data"]
    assert [(p["handle"], p["api_access"]) for p in profiles] == [(ig.username.lower(), False)]
