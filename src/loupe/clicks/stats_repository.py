"""Aggregates of clicks and conversions, always within one workspace and a time range."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Dimension → (expression on clicks `k`, expression for conversions `c` joined to their click `k`).
DIMENSIONS = {
    "total": ("'total'", "'total'"),
    "day": (
        "to_char(k.clicked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    ),
    "country": ("coalesce(k.country, 'unknown')", "coalesce(k.country, 'unknown')"),
    "device": ("k.device", "k.device"),
    "referrer": ("coalesce(k.referrer_host, 'direct')", "coalesce(k.referrer_host, 'direct')"),
    "link": ("k.link_id::text", "c.link_id::text"),
}
NEEDS_CLICK = {"country", "device", "referrer"}


@dataclass(frozen=True)
class Scope:
    """Which links: one link, a campaign's links, or the whole workspace."""

    workspace_id: uuid.UUID
    link_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None

    def where(self, alias: str) -> str:
        if self.link_id is not None:
            # A campaign-level link has no code of its own: its figures are its creators' copies'.
            return (
                f"{alias}.link_id IN (SELECT id FROM tracking_links WHERE (id = :link OR parent_link_id = :link) "
                "AND workspace_id = :ws)"
            )
        if self.campaign_id is not None:
            return (
                f"{alias}.link_id IN (SELECT id FROM tracking_links WHERE campaign_id = :campaign "
                "AND workspace_id = :ws)"
            )
        return "TRUE"

    def params(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {"ws": self.workspace_id, "link": self.link_id, "campaign": self.campaign_id, "start": start, "end": end}


class StatsRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def link_exists(self, link_id: uuid.UUID) -> bool:
        sql = text("SELECT 1 FROM tracking_links WHERE id = :id AND workspace_id = :ws")
        return (await self.session.execute(sql, {"id": link_id, "ws": self.workspace_id})).first() is not None

    async def campaign_exists(self, campaign_id: uuid.UUID) -> bool:
        sql = text("SELECT 1 FROM campaigns WHERE id = :id AND workspace_id = :ws")
        return (await self.session.execute(sql, {"id": campaign_id, "ws": self.workspace_id})).first() is not None

    async def clicks(self, scope: Scope, dimension: str, start: datetime, end: datetime) -> list[Any]:
        key = DIMENSIONS[dimension][0]
        sql = f"""
            SELECT {key} AS key,
                   count(*) FILTER (WHERE NOT k.bot) AS clicks,
                   count(*) FILTER (WHERE NOT k.bot AND k.unique_visitor) AS unique_clicks,
                   count(*) FILTER (WHERE k.bot) AS bot_clicks
            FROM clicks k
            WHERE k.workspace_id = :ws AND k.clicked_at >= :start AND k.clicked_at < :end AND {scope.where("k")}
            GROUP BY 1
        """
        return list((await self.session.execute(text(sql), scope.params(start, end))).mappings())

    async def conversions(self, scope: Scope, dimension: str, start: datetime, end: datetime) -> list[Any]:
        key = DIMENSIONS[dimension][1]
        join = "JOIN clicks k ON k.id = c.click_id AND k.clicked_at = c.clicked_at" if dimension in NEEDS_CLICK else ""
        sql = f"""
            SELECT {key} AS key, c.currency, count(*) AS conversions, sum(c.value) AS revenue
            FROM conversions c {join}
            WHERE c.workspace_id = :ws AND c.created_at >= :start AND c.created_at < :end AND {scope.where("c")}
            GROUP BY 1, 2
        """
        return list((await self.session.execute(text(sql), scope.params(start, end))).mappings())

    async def links(self) -> list[Any]:
        sql = text(
            "SELECT id, name, code, campaign_id, influencer_id, archived_at IS NOT NULL AS archived "
            "FROM tracking_links WHERE workspace_id = :ws AND kind = 'creator'"
        )
        return list((await self.session.execute(sql, {"ws": self.workspace_id})).mappings())
