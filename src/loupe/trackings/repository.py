from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, and_, delete, func, literal, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.models import AccountContent
from loupe.campaigns.stories.models import Story
from loupe.connections.models import Connection, ConnectionStatus, Grant
from loupe.influencers.models import Influencer, InfluencerProfile
from loupe.invites.models import Invite
from loupe.kit.pagination import PageParams, build_page, encode_cursor, keyset
from loupe.trackings.models import TrackedContent, Tracking, TrackingProfile


def follows(profile: Any, connection: Any) -> Any:
    """A tracked profile is a connected account when the platform's user id or the handle is the same."""
    return and_(
        connection.platform == profile.platform,
        or_(
            connection.platform_user_id == profile.platform_user_id,
            func.lower(connection.username) == func.lower(profile.handle),
        ),
    )


@dataclass
class ProfileView:
    profile: TrackingProfile
    influencer_name: str | None
    api_access: bool
    invite_status: str | None


class TrackingRepository:
    """Trackings of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, tracking: Tracking) -> Tracking:
        tracking.workspace_id = self.workspace_id
        self.session.add(tracking)
        await self.session.flush()
        return tracking

    async def get(self, tracking_id: uuid.UUID) -> Tracking | None:
        stmt = select(Tracking).where(Tracking.workspace_id == self.workspace_id, Tracking.id == tracking_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, report_id: uuid.UUID, params: PageParams) -> tuple[builtins.list[Tracking], str | None]:
        stmt = select(Tracking).where(Tracking.workspace_id == self.workspace_id, Tracking.report_id == report_id)
        rows = list((await self.session.execute(keyset(stmt, params, Tracking.created_at, Tracking.id))).scalars())
        return build_page(rows, params)

    async def delete(self, tracking: Tracking) -> None:
        await self.session.delete(tracking)
        await self.session.flush()

    async def handles(self, tracking_id: uuid.UUID) -> dict[str, uuid.UUID]:
        stmt = select(TrackingProfile.handle, TrackingProfile.id).where(
            TrackingProfile.workspace_id == self.workspace_id, TrackingProfile.tracking_id == tracking_id
        )
        return {handle: id_ for handle, id_ in (await self.session.execute(stmt)).all()}

    async def add_profiles(self, rows: Sequence[dict[str, Any]]) -> dict[str, uuid.UUID]:
        """Inserts what is not there yet (a concurrent request adding the same handle wins, not doubles);
        returns handle → id of the rows this statement added."""
        if not rows:
            return {}
        stmt = (
            pg_insert(TrackingProfile)
            .values([{**row, "workspace_id": self.workspace_id} for row in rows])
            .on_conflict_do_nothing(index_elements=["tracking_id", "handle"])
            .returning(TrackingProfile.handle, TrackingProfile.id)
        )
        return {handle: id_ for handle, id_ in (await self.session.execute(stmt)).all()}

    async def remove_profiles(self, tracking_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]) -> int:
        stmt = delete(TrackingProfile).where(
            TrackingProfile.workspace_id == self.workspace_id,
            TrackingProfile.tracking_id == tracking_id,
            TrackingProfile.id.in_(list(profile_ids)),
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def profiles(
        self, tracking_id: uuid.UUID, params: PageParams
    ) -> tuple[builtins.list[ProfileView], str | None]:
        granted = (
            select(Grant.influencer_id)
            .join(Connection, Connection.id == Grant.connection_id)
            .where(
                Grant.workspace_id == self.workspace_id,
                Grant.status == ConnectionStatus.active.value,
                Connection.status == ConnectionStatus.active.value,
                follows(TrackingProfile, Connection),
            )
            .limit(1)
            .correlate(TrackingProfile)
            .scalar_subquery()
        )
        influencer = func.coalesce(TrackingProfile.influencer_id, granted)
        invite = (
            select(Invite.status)
            .where(Invite.workspace_id == self.workspace_id, Invite.influencer_id == influencer)
            .order_by(Invite.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        name = select(Influencer.name).where(Influencer.id == influencer).scalar_subquery()
        stmt = select(TrackingProfile, name, granted.is_not(None), invite).where(
            TrackingProfile.workspace_id == self.workspace_id, TrackingProfile.tracking_id == tracking_id
        )
        rows = (await self.session.execute(keyset(stmt, params, TrackingProfile.created_at, TrackingProfile.id))).all()
        views = [ProfileView(*row) for row in rows]
        items = views[: params.limit]
        more = len(views) > params.limit and items
        return items, encode_cursor(items[-1].profile.created_at, items[-1].profile.id) if more else None


@dataclass(frozen=True)
class Candidate:
    """A tracking that may collect a content: the account or influencer is one it follows."""

    tracking_id: uuid.UUID
    workspace_id: uuid.UUID
    report_id: uuid.UUID
    network: str
    start_date: date
    end_date: date | None
    profile_id: uuid.UUID
    connection_id: uuid.UUID | None = None
    influencer_id: uuid.UUID | None = None


REPLACE_CHUNK = 1_000  # rows per statement of a re-match (10 parameters each; asyncpg takes up to 32,767)
CANDIDATE_COLUMNS = (
    Tracking.id,
    Tracking.workspace_id,
    Tracking.report_id,
    Tracking.network,
    Tracking.start_date,
    Tracking.end_date,
    TrackingProfile.id,
)


@dataclass(frozen=True)
class TrackedFilters:
    profile_id: uuid.UUID | None = None
    type: str | None = None
    start: datetime | None = None  # published at or after
    end: datetime | None = None  # published before


class TrackedRepository:
    """What one workspace's trackings collected."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def page(
        self, tracking_id: uuid.UUID, filters: TrackedFilters, params: PageParams
    ) -> tuple[builtins.list[TrackedContent], str | None]:
        """Newest published first, keyset on (published_at, id)."""
        stmt = select(TrackedContent).where(
            TrackedContent.workspace_id == self.workspace_id, TrackedContent.tracking_id == tracking_id
        )
        if filters.profile_id:
            stmt = stmt.where(TrackedContent.profile_id == filters.profile_id)
        if filters.type:
            stmt = stmt.where(TrackedContent.type == filters.type)
        if filters.start:
            stmt = stmt.where(TrackedContent.published_at >= filters.start)
        if filters.end:
            stmt = stmt.where(TrackedContent.published_at < filters.end)
        rows = list(
            (await self.session.execute(keyset(stmt, params, TrackedContent.published_at, TrackedContent.id))).scalars()
        )
        items = rows[: params.limit]
        more = len(rows) > params.limit and items
        return items, encode_cursor(items[-1].published_at, items[-1].id) if more else None


# What the matcher reads of a content.
TEXT_COLUMNS = (
    AccountContent.id,
    AccountContent.type,
    AccountContent.title,
    AccountContent.caption,
    AccountContent.published_at,
    AccountContent.created_at,
)


class MatchingRepository:
    """The matcher's SQL: it runs over every workspace's trackings as contents arrive (each row it writes
    carries the tracking's own workspace)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fingerprint(self) -> str:
        stmt = select(
            func.count(),
            func.coalesce(
                func.md5(
                    func.string_agg(
                        Tracking.id.cast(Text) + ":" + Tracking.updated_at.cast(Text),
                        aggregate_order_by(literal(","), Tracking.id),
                    )
                ),
                "",
            ),
        )
        count, digest = (await self.session.execute(stmt)).one()
        return f"{count}:{digest}"

    async def all_criteria(self) -> builtins.list[Any]:
        stmt = select(Tracking.id, Tracking.hashtags, Tracking.mentions, Tracking.keywords)
        return list((await self.session.execute(stmt)).all())

    async def tracking(self, tracking_id: uuid.UUID) -> Tracking | None:
        return await self.session.get(Tracking, tracking_id)

    async def candidates_for_account(self, connection: Connection) -> builtins.list[Candidate]:
        stmt = (
            select(*CANDIDATE_COLUMNS)
            .join(TrackingProfile, TrackingProfile.tracking_id == Tracking.id)
            .join(
                Grant,
                and_(
                    Grant.workspace_id == Tracking.workspace_id,
                    Grant.connection_id == connection.id,
                    Grant.status == ConnectionStatus.active.value,
                ),
            )
            .where(
                Tracking.network == connection.platform,
                TrackingProfile.platform == connection.platform,
                or_(
                    TrackingProfile.platform_user_id == connection.platform_user_id,
                    func.lower(TrackingProfile.handle) == func.lower(connection.username or ""),
                ),
            )
            .ext(distinct_on(Tracking.id))
        )
        return [Candidate(*row) for row in (await self.session.execute(stmt)).all()]

    def _followed_influencer(self) -> Any:
        """The influencer a tracked Instagram profile stands for: its own, or the CRM's with that handle."""
        crm = (
            select(InfluencerProfile.influencer_id)
            .join(Influencer, Influencer.id == InfluencerProfile.influencer_id)
            .where(
                Influencer.workspace_id == TrackingProfile.workspace_id,
                InfluencerProfile.platform == TrackingProfile.platform,
                func.lower(InfluencerProfile.handle) == func.lower(TrackingProfile.handle),
            )
            .limit(1)
            .correlate(TrackingProfile)
            .scalar_subquery()
        )
        return func.coalesce(TrackingProfile.influencer_id, crm)

    async def candidates_for_story(self, workspace_id: uuid.UUID, influencer_id: uuid.UUID) -> builtins.list[Candidate]:
        stmt = (
            select(*CANDIDATE_COLUMNS)
            .join(TrackingProfile, TrackingProfile.tracking_id == Tracking.id)
            .where(
                Tracking.workspace_id == workspace_id,
                Tracking.network == "instagram",  # stories captured by hand are Instagram stories
                self._followed_influencer() == influencer_id,
            )
            .ext(distinct_on(Tracking.id))
        )
        return [Candidate(*row) for row in (await self.session.execute(stmt)).all()]

    async def candidates_of_tracking(self, tracking: Tracking) -> builtins.list[Candidate]:
        """One candidate per followed account (with a grant of the workspace) and per followed influencer."""
        base = select(*CANDIDATE_COLUMNS).join(TrackingProfile, TrackingProfile.tracking_id == Tracking.id)
        base = base.where(Tracking.id == tracking.id)
        accounts = (
            base.add_columns(Connection.id)
            .join(Connection, follows(TrackingProfile, Connection))
            .join(
                Grant,
                and_(
                    Grant.connection_id == Connection.id,
                    Grant.workspace_id == Tracking.workspace_id,
                    Grant.status == ConnectionStatus.active.value,
                ),
            )
            .ext(distinct_on(Connection.id))
        )
        found = [Candidate(*row) for row in (await self.session.execute(accounts)).all()]
        if tracking.network == "instagram":
            influencer = self._followed_influencer()
            people = (
                base.add_columns(literal(None), influencer).where(influencer.is_not(None)).ext(distinct_on(influencer))
            )
            found += [Candidate(*row) for row in (await self.session.execute(people)).all()]
        return found

    async def contents(self, ids: Sequence[uuid.UUID]) -> builtins.list[Any]:
        stmt = select(*TEXT_COLUMNS).where(AccountContent.id.in_(list(ids)))
        return list((await self.session.execute(stmt)).all())

    async def stored_contents(
        self, connection_id: uuid.UUID, platform: str, batch: int
    ) -> AsyncIterator[builtins.list[Any]]:
        last: uuid.UUID | None = None
        while True:
            stmt = select(*TEXT_COLUMNS).where(
                AccountContent.connection_id == connection_id, AccountContent.platform == platform
            )
            if last is not None:
                stmt = stmt.where(AccountContent.id > last)
            rows = list((await self.session.execute(stmt.order_by(AccountContent.id).limit(batch))).all())
            if not rows:
                return
            yield rows
            last = rows[-1].id

    async def stories_of(
        self, workspace_id: uuid.UUID, influencer_ids: Sequence[uuid.UUID | None]
    ) -> builtins.list[Story]:
        ids = [i for i in influencer_ids if i is not None]
        if not ids:
            return []
        stmt = select(Story).where(Story.workspace_id == workspace_id, Story.influencer_id.in_(ids))
        return list(await self.session.scalars(stmt))

    async def save(self, rows: Sequence[dict[str, Any]], source: str) -> None:
        """Tracked from now on; a content a tracking already has keeps its row. A plain executemany: one
        statement whatever the row count (a multi-row VALUES would be prepared anew for every count)."""
        if rows:
            values = [{**_without(row, "source_id", "source"), source: row["source_id"]} for row in rows]
            table = TrackedContent.__table__  # Core: a plain executemany, not the ORM's bulk path
            stmt = pg_insert(table).on_conflict_do_nothing()  # type: ignore[arg-type]
            await self.session.execute(stmt, values)

    async def replace(self, tracking: Tracking, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """The tracking holds exactly these rows afterwards (matched terms updated); returns (kept, added)."""
        source = func.coalesce(TrackedContent.content_id, TrackedContent.story_id)
        had = set(await self.session.scalars(select(source).where(TrackedContent.tracking_id == tracking.id)))
        contents = [row["source_id"] for row in rows if row["source"] == "content_id"]
        stories = [row["source_id"] for row in rows if row["source"] == "story_id"]
        keep = or_(
            and_(TrackedContent.content_id.is_not(None), TrackedContent.content_id.in_(contents)),
            and_(TrackedContent.story_id.is_not(None), TrackedContent.story_id.in_(stories)),
        )
        await self.session.execute(delete(TrackedContent).where(TrackedContent.tracking_id == tracking.id, ~keep))
        for column in ("content_id", "story_id"):
            values = [
                {**_without(row, "source_id", "source"), column: row["source_id"]}
                for row in rows
                if row["source"] == column
            ]
            # Multi-row statements, not an executemany: the report roll-ups' triggers run once per statement,
            # so a re-match of thousands of contents syncs them in a few passes rather than one per row.
            for start in range(0, len(values), REPLACE_CHUNK):
                insert = pg_insert(TrackedContent.__table__).values(values[start : start + REPLACE_CHUNK])  # type: ignore[arg-type]
                upsert = insert.on_conflict_do_update(
                    index_elements=["tracking_id", column],
                    set_={"matched_terms": insert.excluded.matched_terms, "profile_id": insert.excluded.profile_id},
                )
                await self.session.execute(upsert)
        added = len({row["source_id"] for row in rows} - had)
        return len(rows) - added, added


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}
