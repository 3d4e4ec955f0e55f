"""POST /v1/conversions: attribution to a known click of the workspace, within the window; idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.rollup_support import conversion_recount, conversion_rollups
from tests.clicks.support import BROWSER, flush, insert_click, make_link, redirect_client
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_a_redirected_click_converts_once_and_replays_idempotently(
    settings: Settings, db: ProcessContext, redis_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as visitor:
        response = await visitor.get(f"/l/{link['code']}", headers={"user-agent": BROWSER})
    click_id = parse_qs(urlsplit(response.headers["location"]).query)["lp_click"][0]
    await flush(db, settings, redis_url)

    body = {"click_id": click_id, "event": "purchase", "value": "49.90", "currency": "eur", "external_id": "order-1"}
    created = await client.post("/v1/conversions", json=body, headers=tenant.write)
    assert created.status_code == 201, created.text
    conversion = created.json()
    assert conversion["click_id"].replace("-", "") == click_id and conversion["link_id"] == link["id"]
    assert conversion["currency"] == "EUR" and float(conversion["value"]) == 49.9 and conversion["event"] == "purchase"

    again = await client.post("/v1/conversions", json=body, headers=tenant.write)
    assert again.status_code == 200 and again.json() == conversion  # same payload: the same conversion

    changed = await client.post("/v1/conversions", json={**body, "value": "59.90"}, headers=tenant.write)
    assert changed.status_code == 409 and "order-1" in changed.json()["detail"]


async def _refusal(client: httpx.AsyncClient, tenant: Tenant, click_id: str) -> str:
    body = {"click_id": click_id, "event": "signup", "external_id": f"e-{click_id[:8]}"}
    response = await client.post("/v1/conversions", json=body, headers=tenant.write)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body.click_id"
    return str(error["reason"])


async def test_unknown_other_workspace_and_too_old_clicks_are_refused_with_a_reason(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant, make_tenant
) -> None:  # type: ignore[no-untyped-def]
    other = await make_tenant("Other")
    theirs = await insert_click(db, await make_link(db, other.workspace_id), other.workspace_id, _ago(1))
    link = await make_link(db, tenant.workspace_id)
    old = await insert_click(db, link, tenant.workspace_id, _ago(31))
    fresh = await insert_click(db, link, tenant.workspace_id, _ago(29))

    assert (await _refusal(client, tenant, "0" * 32)).startswith("Unknown click")
    assert (await _refusal(client, tenant, theirs)).startswith("Unknown click")  # no hint that it exists
    assert "30-day attribution window" in await _refusal(client, tenant, old)
    body = {"click_id": fresh, "event": "signup", "external_id": "in-window"}
    assert (await client.post("/v1/conversions", json=body, headers=tenant.write)).status_code == 201


async def test_the_attribution_window_is_a_setting(settings: Settings, db: ProcessContext, tenant: Tenant) -> None:
    from loupe.app import create_app

    link = await make_link(db, tenant.workspace_id)
    old = await insert_click(db, link, tenant.workspace_id, _ago(45))
    app = create_app(settings.model_copy(update={"attribution_window_days": 60}), context=db)
    db.settings, saved = settings.model_copy(update={"attribution_window_days": 60}), db.settings
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            body = {"click_id": old, "event": "signup", "external_id": "late"}
            assert (await client.post("/v1/conversions", json=body, headers=tenant.write)).status_code == 201
    finally:
        db.settings = saved


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"currency": "XYZ"}, "body.currency"),
        ({"currency": None}, "body"),
        ({"value": "-1"}, "body.value"),
        ({"event": ""}, "body.event"),
        ({"external_id": ""}, "body.external_id"),
        ({"click_id": "not-a-uuid"}, "body.click_id"),
    ],
)
async def test_invalid_payloads_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, patch: dict[str, object], field: str
) -> None:
    body = {"click_id": "0" * 32, "event": "purchase", "value": "10", "currency": "USD", "external_id": "x", **patch}
    response = await client.post("/v1/conversions", json=body, headers=tenant.write)
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"])


async def test_read_only_keys_cannot_record_conversions(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"click_id": "0" * 32, "event": "purchase", "external_id": "x"}
    assert (await client.post("/v1/conversions", json=body, headers=tenant.read)).status_code == 403
    assert (await client.post("/v1/conversions", json=body)).status_code == 401


async def test_a_conversion_right_after_the_click_finds_it_in_the_buffer(
    settings: Settings, db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The partner's postback may beat the flush worker; the click is still attributed."""
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as visitor:
        response = await visitor.get(f"/l/{link['code']}", headers={"user-agent": BROWSER})
    click_id = parse_qs(urlsplit(response.headers["location"]).query)["lp_click"][0]
    body = {"click_id": click_id, "event": "purchase", "value": "10", "currency": "USD", "external_id": "fast"}
    created = await client.post("/v1/conversions", json=body, headers=tenant.write)  # no flush in between
    assert created.status_code == 201, created.text
    assert created.json()["link_id"] == link["id"]


async def test_conversions_of_unknown_clicks_share_one_inline_flush(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each would otherwise hold a second connection for up to 3 s: a few dozen would drain the pool. (They
    overlap at all only because a key's `last_used_at` is no longer written in the request's transaction,
    whose row lock queued every request of the key behind the first.)"""
    import asyncio

    from loupe.clicks.flush import ClickFlusher

    real = ClickFlusher.flush
    running, most, flushes = 0, 0, 0

    async def watched(self: ClickFlusher, **kwargs: object) -> object:
        nonlocal running, most, flushes
        running, flushes = running + 1, flushes + 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.3)  # a flush that takes a while, as under load
            return await real(self, **kwargs)  # type: ignore[arg-type]
        finally:
            running -= 1

    monkeypatch.setattr(ClickFlusher, "flush", watched)
    reasons = await asyncio.gather(*(_refusal(client, tenant, f"{i:032x}") for i in range(12)))
    assert all(reason.startswith("Unknown click") for reason in reasons)
    assert most == 1 and flushes < 12


async def test_conversions_add_to_their_roll_ups_once_even_when_replayed_concurrently(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    paid = await insert_click(db, link, tenant.workspace_id, _ago(1), country="DE", referrer=None)
    free = await insert_click(db, link, tenant.workspace_id, _ago(2), country=None)
    bodies = [
        {"click_id": paid, "event": "purchase", "value": "10.5", "currency": "EUR", "external_id": "o-1"},
        {"click_id": paid, "event": "purchase", "value": "4", "currency": "USD", "external_id": "o-2"},
        {"click_id": free, "event": "signup", "external_id": "s-1"},  # no value, no currency
        {"click_id": free, "event": "purchase", "currency": "EUR", "external_id": "o-3"},  # a currency, no value
    ]
    for body in bodies:
        answers = await asyncio.gather(
            *(client.post("/v1/conversions", json=body, headers=tenant.write) for _ in range(3))
        )
        assert sorted(a.status_code for a in answers) == [200, 200, 201], [a.text for a in answers]
    rollups = await conversion_rollups(db)
    assert rollups == await conversion_recount(db)
    workspace_rows = {k: v for k, v in rollups.items() if k[0] == k[1]}  # scope: the workspace
    totals = {k[-1]: v for k, v in workspace_rows.items() if k[2] == "total" and k[3] == "day"}
    assert sum(n for n, _ in totals.values()) == 4 and totals["USD"] == (1, Decimal("4.0000"))
