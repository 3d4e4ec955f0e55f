from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, Response
from pydantic import AwareDatetime

from loupe.campaigns.stories.models import Story
from loupe.campaigns.stories.schemas import StoryPage, StoryRead
from loupe.campaigns.stories.service import StoryService
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.middleware import FORM_OVERHEAD, body_limit
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["stories"])
Metric = Annotated[int | None, Form(ge=0)]
MEDIA_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/*": {}, "video/*": {}}, "description": "The media file."}
}


def _read(story: Story) -> StoryRead:
    return StoryRead.model_validate(
        {
            **{k: getattr(story, k) for k in ("id", "campaign_id", "influencer_id", "posted_at", "text", "metrics")},
            "metrics_source": story.metrics_source,
            "created_at": story.created_at,
            "media": {
                "content_type": story.media_content_type,
                "size": story.media_size,
                "url": f"/v1/campaigns/{story.campaign_id}/stories/{story.id}/media",
            },
        }
    )


@router.post(
    "/creators/{influencer_id}/stories",
    operation_id="campaigns_stories_capture",
    summary="Capture a creator's story by hand",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 413, 422),
)
@body_limit(lambda settings: settings.media_max_bytes + FORM_OVERHEAD)
async def capture_story(
    campaign_id: uuid.UUID,
    influencer_id: uuid.UUID,
    principal: WritePrincipal,
    session: SessionDep,
    ctx: ContextDep,
    media: Annotated[
        UploadFile, File(description="The story's image or video (jpeg, png, gif, webp, heic, mp4, mov, webm).")
    ],
    posted_at: Annotated[AwareDatetime, Form(description="When the story was posted, with a timezone.")],
    text: Annotated[str | None, Form(max_length=5000, description="Text on the story.")] = None,
    views: Metric = None,
    reach: Metric = None,
    impressions: Metric = None,
    replies: Metric = None,
    shares: Metric = None,
    link_clicks: Metric = None,
    sticker_taps: Metric = None,
    taps_forward: Metric = None,
    taps_back: Metric = None,
    exits: Metric = None,
) -> StoryRead:
    """Stores a story for a creator of the campaign, with its media (size bounded, 413 beyond; type checked)
    and metrics entered by hand (`metrics_source: manual`). Refused with 422 when `posted_at` is in the
    future, falls outside every span when the campaign's story capture was on (capture is not retroactive),
    or is before the creator joined the campaign."""
    metrics = {
        name: value
        for name, value in {
            "views": views,
            "reach": reach,
            "impressions": impressions,
            "replies": replies,
            "shares": shares,
            "link_clicks": link_clicks,
            "sticker_taps": sticker_taps,
            "taps_forward": taps_forward,
            "taps_back": taps_back,
            "exits": exits,
        }.items()
        if value is not None
    }
    service = StoryService(session, principal)
    story = await service.capture(ctx.media, campaign_id, influencer_id, media, posted_at, text, metrics)
    return _read(story)


@router.get(
    "/stories",
    operation_id="campaigns_stories_list",
    summary="List a campaign's captured stories",
    responses=problem_responses(404, 422),
)
async def list_stories(
    campaign_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
    page: PageParamsDep,
    influencer_id: Annotated[uuid.UUID | None, Query(description="Only this creator's stories.")] = None,
) -> StoryPage:
    """Stories captured by hand for the campaign, most recently captured first."""
    items, cursor = await StoryService(session, principal).list(campaign_id, page, influencer_id)
    return StoryPage.of([_read(s) for s in items], cursor)


@router.get(
    "/stories/{story_id}/media",
    operation_id="campaigns_stories_media",
    summary="Download a story's media",
    response_class=FileResponse,
    responses={**MEDIA_RESPONSE, **problem_responses(404)},
)
async def story_media(
    campaign_id: uuid.UUID, story_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, ctx: ContextDep
) -> Response:
    """The file itself, or (object storage) a 307 redirect to a signed URL valid for 5 minutes."""
    story = await StoryService(session, principal).get(campaign_id, story_id)
    return await ctx.media.response(story.media_path, story.media_content_type)
