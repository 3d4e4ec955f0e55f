from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, Field

from loupe.kit.pagination import Page
from loupe.kit.schemas import Answer


class Revenue(Answer):
    currency: str = Field(examples=["EUR"])
    amount: Decimal = Field(examples=["149.70"])


class Counts(Answer):
    clicks: int = Field(description="Clicks by people (bots excluded).")
    unique_clicks: int = Field(description="First click of a visitor on a link that day (people only).")
    bot_clicks: int = Field(description="Clicks by bots, link-preview fetchers and HEAD requests: reported apart.")
    conversions: int
    revenue: list[Revenue] = Field(description="Sum of conversion values, per currency.")
    conversion_rate: float | None = Field(description="conversions / clicks; null without clicks.")


class StatsRow(Counts):
    key: str = Field(description="The day (YYYY-MM-DD), country (ISO 3166, or `unknown`), device, or referrer host.")


class Stats(Answer):
    """Totals and breakdowns over a date range (days of the workspace's time zone, both ends included)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    totals: Counts
    by_day: list[StatsRow]
    by_country: list[StatsRow]
    by_device: list[StatsRow] = Field(description="mobile, tablet, desktop, bot or other.")
    by_referrer: list[StatsRow] = Field(description="Referrer host, or `direct`.")


class LinkStats(Stats):
    link_id: uuid.UUID


class CampaignStats(Stats):
    campaign_id: uuid.UUID


class LinkStatsRow(Counts):
    link_id: uuid.UUID
    name: str
    code: str | None
    campaign_id: uuid.UUID | None
    influencer_id: uuid.UUID | None
    archived: bool


class WorkspaceLinkStats(Answer):
    """Every creator link of the workspace with its counts, most clicked first."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    data: list[LinkStatsRow]


class CreatorSort(StrEnum):
    clicks = "clicks"
    unique_clicks = "unique_clicks"
    conversions = "conversions"
    conversion_rate = "conversion_rate"
    name = "name"


class CreatorStatsRow(Counts):
    influencer_id: uuid.UUID
    name: str
    links: int = Field(description="The creator's links, in every campaign (archived ones included).")
    campaigns: int = Field(description="Campaigns those links belong to.")


class CreatorStats(Page[CreatorStatsRow]):
    """Each creator with links, their figures summed over all their links and campaigns; a page of them."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
