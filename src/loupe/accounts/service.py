"""What a workspace reads of its connected accounts' data, the metrics it sets by hand, and refreshes on demand.

Every read goes through the workspace's grant of the account: another workspace's id is a 404, and a grant
the creator disconnected still shows the data it had (nothing new is read for it)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.jobs import refresh_job_id
from loupe.accounts.schemas import (
    METRIC_NAMES,
    AccountProfileRead,
    AudienceRead,
    AudienceShare,
    ContentRead,
    ContentSource,
    ContentUpdate,
    MetricsSource,
    RefreshQueued,
)
from loupe.accounts.views import AccountViewRepository, ContentFilters, ContentView
from loupe.campaigns.service import CampaignService
from loupe.campaigns.stories.models import Story
from loupe.campaigns.stories.service import StoryService
from loupe.connections.models import Connection, ConnectionStatus, Grant
from loupe.connectors.models import OTHERS, top_n_with_others
from loupe.kit.days import check_days, day_start
from loupe.kit.errors import Conflict, NotFound
from loupe.kit.jobs import QUEUE_NAME, JobBuffer
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal


def percentages(shares: dict[str, float], *, by_key: bool = False) -> list[AudienceShare]:
    """Stored shares (fractions from the connectors, or any counts) as percentages with two decimals summing to
    exactly 100 (largest remainders get the rounding); largest first with "others" last, or by key."""
    positive = {key: float(value) for key, value in shares.items() if value and value > 0}
    total = sum(positive.values())
    if total <= 0:
        return []
    exact = {key: value * 10_000 / total for key, value in positive.items()}
    units = {key: int(value) for key, value in exact.items()}
    short = 10_000 - sum(units.values())
    for key in sorted(exact, key=lambda k: (units[k] - exact[k], k))[:short]:
        units[key] += 1
    order = sorted(units) if by_key else sorted(units, key=lambda k: (k == OTHERS, -exact[k], k))
    return [AudienceShare(key=key, percent=units[key] / 100) for key in order]


def content_read(view: ContentView) -> ContentRead:
    content = view.content
    stored: dict[str, Any] = dict(content.metrics or {})
    available = bool(stored.pop("available", True))
    stored.pop("unavailable_reason", None)
    known = {name: stored.pop(name) for name in METRIC_NAMES if name in stored}
    manual = dict(view.override.metrics) if view.override else {}
    return ContentRead(
        id=content.id,
        source=ContentSource.api,
        connected_account_id=view.grant.id,
        influencer_id=view.grant.influencer_id,
        platform=content.platform,
        platform_content_id=content.platform_content_id,
        type=content.type,
        published_at=content.published_at,
        caption=content.caption,
        title=content.title,
        permalink=content.permalink,
        # A copied file's storage key stays internal; `stored` says GET .../media/{index} serves it.
        media=[
            {**{k: v for k, v in item.items() if k != "path"}, "stored": "path" in item}
            for item in content.media
            if isinstance(item, dict)
        ],
        duration_seconds=content.duration_seconds,
        metrics=known,
        other_metrics=stored,
        metrics_available=available,
        metrics_at=content.metrics_at,
        manual_metrics={name: manual[name] for name in METRIC_NAMES if name in manual},
        metrics_source=MetricsSource.manual if manual else MetricsSource.api,
    )


def story_read(story: Story) -> ContentRead:
    """A story captured by hand, in the shape of a content (one timeline for a campaign)."""
    manual = {name: story.metrics[name] for name in METRIC_NAMES if name in (story.metrics or {})}
    media_url = f"/v1/campaigns/{story.campaign_id}/stories/{story.id}/media"
    return ContentRead(
        id=story.id,
        source=ContentSource.manual,
        connected_account_id=None,
        influencer_id=story.influencer_id,
        platform="instagram",
        platform_content_id=None,
        type="story",
        published_at=story.posted_at,
        caption=story.text,
        title=None,
        permalink=None,
        media=[{"url": media_url, "stored": True, "content_type": story.media_content_type, "size": story.media_size}],
        duration_seconds=None,
        metrics={},
        other_metrics={k: v for k, v in (story.metrics or {}).items() if k not in METRIC_NAMES},
        metrics_available=True,
        metrics_at=None,
        manual_metrics=manual,
        metrics_source=MetricsSource.manual,
    )


def must_reconnect(grant: Grant, connection: Connection) -> str | None:
    """Why the account cannot be refreshed, or None when it can."""
    if grant.status == ConnectionStatus.disconnected.value:
        return "The creator disconnected this account from the workspace"
    status = connection.status if grant.status == ConnectionStatus.active.value else grant.status
    if status == ConnectionStatus.expired.value:
        return "The account's authorisation expired"
    if status == ConnectionStatus.revoked.value:
        return "The creator revoked Loupe's access at the platform"
    return None


class AccountDataService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.views = AccountViewRepository(session, principal.workspace_id)

    async def _account(self, grant_id: uuid.UUID) -> tuple[Grant, Connection]:
        found = await self.views.account(grant_id)
        if found is None:
            raise NotFound(f"Connected account {grant_id} was not found.")
        return found

    async def profile(self, grant_id: uuid.UUID) -> AccountProfileRead:
        """200 even before the first refresh: the account's identity, null figures and `last_refreshed_at: null`."""
        grant, connection = await self._account(grant_id)
        profile = await self.views.profile(connection.id)
        base = {
            "connected_account_id": grant.id,
            "platform": connection.platform,
            "status": grant.status,
            "username": connection.username,
            "display_name": connection.display_name,
            "avatar_url": connection.picture_url,
        }
        if profile is None:
            empty = ("bio", "url", "website", "followers", "following", "content_count", "verified", "account_type")
            return AccountProfileRead(**base, **dict.fromkeys(empty), extras={}, last_refreshed_at=None)
        return AccountProfileRead(
            **{
                **base,
                "username": profile.username or connection.username,
                "display_name": profile.display_name or connection.display_name,
                "avatar_url": profile.avatar_url or connection.picture_url,
            },
            bio=profile.bio,
            url=profile.url,
            website=profile.website,
            followers=profile.followers,
            following=profile.following,
            content_count=profile.content_count,
            verified=profile.verified,
            account_type=profile.account_type,
            extras=profile.extras,
            last_refreshed_at=profile.refreshed_at,
        )

    async def history(
        self, grant_id: uuid.UUID, first: date | None, last: date | None, params: PageParams
    ) -> tuple[list[Any], str | None]:
        check_days(first, last)
        _, connection = await self._account(grant_id)
        return await self.views.history(connection.id, first, last, params)

    async def audience(self, grant_id: uuid.UUID) -> AudienceRead:
        grant, connection = await self._account(grant_id)
        audience = await self.views.audience(connection.id)
        if audience is None:
            return AudienceRead(
                connected_account_id=grant.id,
                available=False,
                note="Not refreshed yet.",
                countries=[],
                cities=[],
                ages=[],
                genders=[],
                refreshed_at=None,
            )
        return AudienceRead(
            connected_account_id=grant.id,
            available=audience.available,
            note=audience.note,
            countries=percentages(top_n_with_others(audience.countries)),
            cities=percentages(top_n_with_others(audience.cities)),
            ages=percentages(audience.ages, by_key=True),
            genders=percentages(audience.genders),
            refreshed_at=audience.refreshed_at,
        )

    @staticmethod
    def _filters(
        type_: str | None,
        first: date | None,
        last: date | None,
        *,
        platform: str | None = None,
        influencer_id: uuid.UUID | None = None,
        not_before: date | None = None,
        not_after: date | None = None,
    ) -> ContentFilters:
        check_days(first, last)
        starts = [day for day in (first, not_before) if day]
        ends = [day for day in (last, not_after) if day]
        return ContentFilters(
            type=type_,
            platform=platform,
            influencer_id=influencer_id,
            start=day_start(max(starts)) if starts else None,
            end=day_start(min(ends) + timedelta(days=1)) if ends else None,
        )

    async def contents(
        self, grant_id: uuid.UUID, type_: str | None, first: date | None, last: date | None, params: PageParams
    ) -> tuple[list[ContentRead], str | None]:
        filters = self._filters(type_, first, last)
        await self._account(grant_id)
        views, cursor = await self.views.account_contents(grant_id, filters, params)
        return [content_read(view) for view in views], cursor

    async def campaign_contents(
        self,
        campaign_id: uuid.UUID,
        params: PageParams,
        *,
        influencer_id: uuid.UUID | None,
        type_: str | None,
        platform: str | None,
    ) -> tuple[list[ContentRead], str | None]:
        """Published within the campaign's dates (from `starts_on`, up to `ends_on` included when it has one)."""
        campaign = await CampaignService(self.session, self.principal).get(campaign_id)
        filters = self._filters(
            type_,
            None,
            None,
            platform=platform,
            influencer_id=influencer_id,
            not_before=campaign.starts_on,
            not_after=campaign.ends_on,
        )
        items, cursor = await self.views.campaign_feed(campaign.id, filters, params)
        return [story_read(item) if isinstance(item, Story) else content_read(item) for item in items], cursor

    async def reads_of(self, content_ids: list[uuid.UUID], story_ids: list[uuid.UUID]) -> dict[uuid.UUID, ContentRead]:
        """Contents (through the workspace's grants) and stories captured by hand, by id, in one shape."""
        found = {view.content.id: content_read(view) for view in await self.views.views_of(content_ids)}
        found.update({story.id: story_read(story) for story in await self.views.stories_of(story_ids)})
        return found

    async def stored_media(self, content_id: uuid.UUID, index: int) -> tuple[str, str]:
        """(key, content type) of a media file Loupe copied (API stories: the platform's URL expires)."""
        view = await self.views.content(content_id)
        if view is None:
            raise NotFound(f"Content {content_id} was not found.")
        media = [item for item in view.content.media if isinstance(item, dict)]
        if not 0 <= index < len(media) or not media[index].get("path"):
            raise NotFound(f"Content {content_id} has no stored media file number {index}.")
        return str(media[index]["path"]), str(media[index].get("content_type") or "application/octet-stream")

    async def set_metrics(self, content_id: uuid.UUID, data: ContentUpdate) -> ContentRead:
        """An API content gets this workspace's override; a story captured by hand (an id of the campaign's
        timeline, `source: manual`) has its own metrics changed."""
        values = {name: getattr(data.metrics, name) for name in data.metrics.model_fields_set}
        if await self.views.content(content_id) is None:
            story = await StoryService(self.session, self.principal).set_metrics(content_id, values)
            if story is None:
                raise NotFound(f"Content {content_id} was not found.")
            return story_read(story)
        if values:
            await self.views.set_manual_metrics(content_id, values)
        view = await self.views.content(content_id)
        if view is None:  # deleted by a concurrent disconnect since the check above
            raise NotFound(f"Content {content_id} was not found.")
        return content_read(view)

    async def refresh(self, grant_id: uuid.UUID, jobs: JobBuffer, arq: ArqRedis) -> RefreshQueued:
        """Queued with the scheduler's job id, so a refresh already queued or running is not queued twice."""
        grant, connection = await self._account(grant_id)
        reason = must_reconnect(grant, connection)
        if reason:
            raise Conflict(
                f"{reason}: the creator must reconnect it from their invite page before it can be refreshed."
            )
        job_id = refresh_job_id(connection.id)
        status = await Job(job_id, arq, _queue_name=QUEUE_NAME).status()
        jobs.enqueue("refresh_connection", job_id=job_id, connection_id=str(connection.id))
        return RefreshQueued(queued=status not in {JobStatus.queued, JobStatus.deferred, JobStatus.in_progress})
