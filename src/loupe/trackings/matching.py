"""Contents collected into trackings: as the refresh jobs store them, as stories are captured by hand, and
again by a re-match (a job) over what is stored.

A content counts for a tracking when its account is one the tracking follows (by platform user id or
handle) on the tracking's network, the tracking's workspace holds an active grant of it (a story captured by
hand: the story's influencer is followed), it was published on a day of the tracking's span (UTC), and any
term matches its text (title and caption; a story's text). Each tracked content records the terms that
matched. Criteria edits apply from then on; a re-match applies them to what is stored.

Every process keeps one matcher of every tracking's terms (`MatcherCache`), rebuilt when the trackings
change (a fingerprint of their ids and update times, one cheap query per batch of contents).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.refresh import contents_stored
from loupe.campaigns.stories.models import Story
from loupe.campaigns.stories.service import story_captured
from loupe.connections.models import Connection
from loupe.kit.context import ProcessContext
from loupe.trackings.matcher import Criteria, Matcher
from loupe.trackings.repository import Candidate, MatchingRepository

log = structlog.get_logger(__name__)
REMATCH_BATCH = 2_000


def criteria_of(row: Any) -> Criteria[uuid.UUID]:
    return Criteria(row.id, tuple(row.hashtags), tuple(row.mentions), tuple(row.keywords))


class MatcherCache:
    """The process's matcher of every tracking; `current` rebuilds it when the trackings changed."""

    def __init__(self) -> None:
        self.fingerprint: str | None = None
        self.matcher: Matcher[uuid.UUID] = Matcher.build([])
        self._lock = asyncio.Lock()

    async def current(self, session: AsyncSession) -> Matcher[uuid.UUID]:
        repo = MatchingRepository(session)
        fingerprint = await repo.fingerprint()
        if fingerprint != self.fingerprint:
            async with self._lock:
                if fingerprint != self.fingerprint:
                    self.matcher = Matcher.build(criteria_of(row) for row in await repo.all_criteria())
                    self.fingerprint = fingerprint
                    log.info("matcher.rebuilt", terms=self.matcher.terms)
        return self.matcher


MATCHERS = MatcherCache()


def in_span(day: date, start: date, end: date | None) -> bool:
    return start <= day and (end is None or day <= end)


def content_text(title: str | None, caption: str | None) -> str:
    return "\n".join(part for part in (title, caption) if part)


def tracked_rows(
    matcher: Matcher[uuid.UUID], candidates: list[Candidate], items: list[tuple[uuid.UUID, str, str, datetime]]
) -> list[dict[str, Any]]:
    """Rows of tracked_contents for (source id, type, text, published) items against candidate trackings."""
    by_tracking = {c.tracking_id: c for c in candidates}
    rows = []
    for source_id, kind, text, published in items:
        for tracking_id, terms in matcher.match(text).items():
            candidate = by_tracking.get(tracking_id)
            if candidate is None or not in_span(published.date(), candidate.start_date, candidate.end_date):
                continue
            rows.append(
                {
                    "workspace_id": candidate.workspace_id,
                    "report_id": candidate.report_id,
                    "tracking_id": tracking_id,
                    "profile_id": candidate.profile_id,
                    "type": kind,
                    "network": candidate.network,
                    "published_at": published,
                    "matched_terms": terms,
                    "source_id": source_id,
                }
            )
    return rows


@contents_stored.attach
async def collect_contents(session: AsyncSession, connection: Connection, content_ids: list[uuid.UUID]) -> None:
    if not content_ids:
        return
    repo = MatchingRepository(session)
    candidates = await repo.candidates_for_account(connection)
    if not candidates:
        return  # no tracking follows this account: the common case, one query
    matcher = await MATCHERS.current(session)
    items = [
        (c.id, c.type, content_text(c.title, c.caption), c.published_at or c.created_at)
        for c in await repo.contents(content_ids)
    ]
    await repo.save(tracked_rows(matcher, candidates, items), "content_id")


@story_captured.attach
async def collect_story(session: AsyncSession, story: Story) -> None:
    repo = MatchingRepository(session)
    candidates = await repo.candidates_for_story(story.workspace_id, story.influencer_id)
    if not candidates or not story.text:
        return
    matcher = await MATCHERS.current(session)
    await repo.save(tracked_rows(matcher, candidates, [(story.id, "story", story.text, story.posted_at)]), "story_id")


async def rematch_tracking(ctx: dict[str, Any], tracking_id: str) -> dict[str, Any]:
    """Worker job (`rematch:<tracking>`): the tracking's current criteria over every stored content of the
    accounts it follows and the stories captured for its influencers; what no longer matches leaves the
    tracking, what matches now joins it, and matched terms are brought up to date. One transaction."""
    process: ProcessContext = ctx["process"]
    async with process.sessionmaker() as session, session.begin():
        repo = MatchingRepository(session)
        tracking = await repo.tracking(uuid.UUID(tracking_id))
        if tracking is None:
            return {"skipped": "no such tracking"}
        matcher = Matcher.build([criteria_of(tracking)])  # this tracking's terms: the others' are not in question
        candidates = await repo.candidates_of_tracking(tracking)
        by_connection: dict[uuid.UUID, list[Candidate]] = {}
        for candidate in candidates:
            if candidate.connection_id is not None:
                by_connection.setdefault(candidate.connection_id, []).append(candidate)
        rows: list[dict[str, Any]] = []
        for connection_id, followed in by_connection.items():
            async for batch in repo.stored_contents(connection_id, tracking.network, REMATCH_BATCH):
                items = [
                    (c.id, c.type, content_text(c.title, c.caption), c.published_at or c.created_at) for c in batch
                ]
                rows += [{**row, "source": "content_id"} for row in tracked_rows(matcher, followed[:1], items)]
        stories = [c for c in candidates if c.influencer_id is not None]
        for story in await repo.stories_of(tracking.workspace_id, [c.influencer_id for c in stories]):
            followed = [c for c in stories if c.influencer_id == story.influencer_id]
            items = [(story.id, "story", story.text or "", story.posted_at)]
            rows += [{**row, "source": "story_id"} for row in tracked_rows(matcher, followed[:1], items)]
        kept, added = await repo.replace(tracking, rows)
    log.info("trackings.rematched", tracking_id=tracking_id, contents=len(rows), added=added)
    return {"contents": len(rows), "added": added, "kept": kept}
