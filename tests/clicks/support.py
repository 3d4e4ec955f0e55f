"""Helpers of the click tests: links written with plain SQL (as the links service would), the
redirect mounted into a test app, and a flush through the real consumer group."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text

from loupe.clicks.flush import ClickFlusher, FlushStats
from loupe.clicks.pg import engine_transaction
from loupe.clicks.rollups import insert_clicks
from loupe.config import Settings
from loupe.kit.context import ProcessContext

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"  # noqa: E501
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


async def make_link(
    db: ProcessContext,
    workspace_id: str,
    *,
    destination: str = "https://shop.example/spring?ref=abc",
    code: str | None = None,
    campaign_id: str | None = None,
    **utm: str,
) -> dict[str, Any]:
    link = {"id": str(uuid.uuid4()), "code": code or secrets.token_urlsafe(6), "destination": destination}
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO tracking_links (id, workspace_id, campaign_id, kind, name, code, destination, "
                "utm_source, utm_medium, utm_campaign, utm_term, utm_content) VALUES (:id, :ws, :campaign, "
                "'creator', 'Link', :code, :destination, :s, :m, :c, :t, :ct)"
            ),
            {
                **{k: link[k] for k in ("id", "code", "destination")},
                "ws": workspace_id,
                "campaign": campaign_id,
                "s": utm.get("utm_source"),
                "m": utm.get("utm_medium"),
                "c": utm.get("utm_campaign"),
                "t": utm.get("utm_term"),
                "ct": utm.get("utm_content"),
            },
        )
    link["workspace_id"] = workspace_id
    return link


async def make_campaign(db: ProcessContext, workspace_id: str) -> str:
    campaign_id = str(uuid.uuid4())
    async with db.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO campaigns (id, workspace_id, name, starts_on) VALUES (:id, :ws, 'Spring', '2026-01-01')"),
            {"id": campaign_id, "ws": workspace_id},
        )
    return campaign_id


async def sql(db: ProcessContext, statement: str, **params: Any) -> list[Any]:
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.mappings()) if result.returns_rows else []


async def flush(db: ProcessContext, settings: Settings, redis_url: str, **options: Any) -> FlushStats:
    redis = Redis.from_url(redis_url)
    try:
        flusher = ClickFlusher(
            redis,
            engine_transaction(db.engine),
            stream=settings.click_stream,
            group=settings.click_group,
            **options,
        )
        return await flusher.flush()
    finally:
        await redis.aclose()


@asynccontextmanager
async def redirect_client(settings: Settings, db: ProcessContext, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh api instance (its own link cache, buffer and spool folder), as another replica would be.
    Its spool must be empty once it closed: nothing left behind for a later test to replay."""
    from loupe.app import create_app

    spool = Path(tempfile.mkdtemp(prefix="spool-"))
    app_settings = settings.model_copy(update={"click_spool_dir": spool, **overrides})
    app = create_app(app_settings, context=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://loupe.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        await app.state.redirect.close()
    left = [path.name for path in spool.iterdir()]  # noqa: ASYNC240
    shutil.rmtree(spool)
    assert not left, f"clicks left in the spool after close: {left}"


async def insert_click(
    db: ProcessContext,
    link: dict[str, Any],
    workspace_id: str,
    at: str,
    *,
    country: str | None = "FR",
    device: str = "mobile",
    referrer: str | None = "instagram.com",
    bot: bool = False,
    unique: bool = True,
) -> str:
    """A click as the flush stores it, roll-ups included (for stats and conversion tests that need exact times)."""
    click_id = uuid.uuid4().hex
    row: list[Any] = [
        uuid.UUID(click_id),
        datetime.fromisoformat(at),
        uuid.UUID(workspace_id),
        uuid.UUID(link["id"]),
        country,
        device if not bot else "bot",
        "iOS",
        "Mobile Safari",
        referrer,
        bot,
        "crawler" if bot else None,
        uuid.uuid4().hex,
        unique and not bot,
    ]
    async with engine_transaction(db.engine)() as conn:
        assert await insert_clicks(conn, [[value] for value in row]) == 1
    return click_id
