"""The live stack: the api (its own lifespan and process context, on the session's embedded PostgreSQL and
Redis) and the sandbox, each over real HTTP and pointed at the other."""

from __future__ import annotations

import httpx

from loupe.kit.context import ProcessContext
from tests.live import LiveStack


async def test_api_answers_healthz_and_readyz_over_http(live_stack: LiveStack, db: ProcessContext) -> None:
    async with httpx.AsyncClient(base_url=live_stack.api, timeout=5) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    assert live_stack.api_server.ctx is not db  # built by the api's own lifespan, not shared
    assert live_stack.settings.public_base_url == live_stack.api
    assert live_stack.settings.sandbox_url == live_stack.sandbox


async def test_sandbox_is_served_beside_the_api(live_stack: LiveStack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.sandbox, timeout=5) as client:
        response = await client.get("/_sandbox/accounts")
    assert response.status_code == 200
    assert live_stack.state.seed == 42
