from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Text, any_, bindparam, delete, exists, false, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from loupe.influencers.models import Influencer, InfluencerList, InfluencerListMember, InfluencerProfile
from loupe.kit.db import like_contains
from loupe.kit.pagination import PageParams, build_page, encode_cursor, keyset


@dataclass(frozen=True)
class InfluencerFilters:
    tag: str | None = None
    platform: str | None = None
    q: str | None = None
    authenticated: bool | None = None
    authenticated_ids: Any = None  # a SELECT of the workspace's authenticated influencer ids (see service)


def search(q: str) -> Any:
    """Names, emails and handles containing `q`, case-insensitively (a leading @ is ignored for handles)."""
    text = like_contains(q.strip().lower())
    handle = like_contains(q.strip().lstrip("@").lower())
    return or_(
        func.lower(Influencer.name).like(text, escape="\\"),
        func.lower(Influencer.email).like(text, escape="\\"),
        exists().where(
            InfluencerProfile.influencer_id == Influencer.id,
            func.lower(InfluencerProfile.handle).like(handle, escape="\\"),
        ),
    )


class InfluencerRepository:
    """Influencers of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, influencer: Influencer) -> Influencer:
        influencer.workspace_id = self.workspace_id
        self.session.add(influencer)
        await self.session.flush()
        return influencer

    def _select(self) -> Select[Influencer]:
        # Profiles are part of every influencer read.
        return (
            select(Influencer)
            .where(Influencer.workspace_id == self.workspace_id)
            .options(selectinload(Influencer.profiles))
        )

    async def get(self, influencer_id: uuid.UUID, *, for_update: bool = False) -> Influencer | None:
        stmt = self._select().where(Influencer.id == influencer_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def existing_ids(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        stmt = select(Influencer.id).where(Influencer.workspace_id == self.workspace_id, Influencer.id.in_(list(ids)))
        return set((await self.session.execute(stmt)).scalars())

    async def list(self, params: PageParams, filters: InfluencerFilters) -> tuple[list[Influencer], str | None]:
        stmt = self._select()
        if filters.tag:
            stmt = stmt.where(Influencer.tags.contains([filters.tag]))
        if filters.platform:
            stmt = stmt.where(
                exists().where(
                    InfluencerProfile.influencer_id == Influencer.id, InfluencerProfile.platform == filters.platform
                )
            )
        if filters.q:
            stmt = stmt.where(search(filters.q))
        if filters.authenticated is not None:
            ids = (
                filters.authenticated_ids
                if filters.authenticated_ids is not None
                else select(Influencer.id).where(false())
            )
            stmt = stmt.where(Influencer.id.in_(ids) if filters.authenticated else Influencer.id.not_in(ids))
        rows = list((await self.session.execute(keyset(stmt, params, Influencer.created_at, Influencer.id))).scalars())
        return build_page(rows, params)

    async def ids_by_email(self, emails: Iterable[str]) -> dict[str, uuid.UUID]:
        """lower(email) → the oldest influencer with that email (case-insensitive)."""
        stmt = (
            select(func.lower(Influencer.email), Influencer.id)
            .where(
                Influencer.workspace_id == self.workspace_id,
                func.lower(Influencer.email) == any_(bindparam("emails", list(emails), type_=ARRAY(Text))),
            )
            .order_by(Influencer.created_at.desc(), Influencer.id.desc())
        )
        return {email: id_ for email, id_ in (await self.session.execute(stmt)).all()}

    async def insert_many(self, rows: builtins.list[dict[str, object]]) -> None:
        """One INSERT (executemany) of plain influencers of this workspace."""
        await self.session.execute(insert(Influencer), [{**row, "workspace_id": self.workspace_id} for row in rows])

    async def delete(self, influencer: Influencer) -> None:
        await self.session.delete(influencer)
        await self.session.flush()

    async def profiles_of(self, influencer_id: uuid.UUID, platform: str) -> builtins.list[InfluencerProfile]:
        stmt = (
            select(InfluencerProfile)
            .join(Influencer, Influencer.id == InfluencerProfile.influencer_id)
            .where(
                Influencer.workspace_id == self.workspace_id,
                InfluencerProfile.influencer_id == influencer_id,
                InfluencerProfile.platform == platform,
            )
        )
        return list(await self.session.scalars(stmt))

    async def add_profile(self, profile: InfluencerProfile) -> None:
        self.session.add(profile)
        await self.session.flush()

    async def delete_profiles(self, influencer_id: uuid.UUID, platform: str, platform_user_id: str) -> None:
        owned = select(Influencer.id).where(
            Influencer.workspace_id == self.workspace_id, Influencer.id == influencer_id
        )
        await self.session.execute(
            delete(InfluencerProfile).where(
                InfluencerProfile.influencer_id.in_(owned),
                InfluencerProfile.platform == platform,
                InfluencerProfile.platform_user_id == platform_user_id,
            )
        )

    async def profiles_on(
        self, platform: str, influencer_ids: Iterable[uuid.UUID] = (), handles: Iterable[str] = ()
    ) -> builtins.list[InfluencerProfile]:
        """The workspace's profiles on a platform, of these influencers or with these handles."""
        ids, names = list(influencer_ids), [h.lower() for h in handles]
        stmt = (
            select(InfluencerProfile)
            .join(Influencer, Influencer.id == InfluencerProfile.influencer_id)
            .where(Influencer.workspace_id == self.workspace_id, InfluencerProfile.platform == platform)
            .where(or_(InfluencerProfile.influencer_id.in_(ids), func.lower(InfluencerProfile.handle).in_(names)))
            .order_by(InfluencerProfile.created_at, InfluencerProfile.id)
        )
        return list(await self.session.scalars(stmt))


class InfluencerListRepository:
    """Lists of one workspace and their members."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, item: InfluencerList) -> InfluencerList:
        item.workspace_id = self.workspace_id
        self.session.add(item)
        await self.session.flush()
        return item

    async def get(self, list_id: uuid.UUID) -> InfluencerList | None:
        stmt = select(InfluencerList).where(
            InfluencerList.workspace_id == self.workspace_id, InfluencerList.id == list_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, params: PageParams) -> tuple[builtins.list[tuple[InfluencerList, int]], str | None]:
        count = (
            select(func.count())
            .where(InfluencerListMember.list_id == InfluencerList.id)
            .correlate(InfluencerList)
            .scalar_subquery()
        )
        stmt = select(InfluencerList, count).where(InfluencerList.workspace_id == self.workspace_id)
        rows = (await self.session.execute(keyset(stmt, params, InfluencerList.created_at, InfluencerList.id))).all()
        items = [(row[0], row[1]) for row in rows[: params.limit]]
        more = len(rows) > params.limit and items
        return items, encode_cursor(items[-1][0].created_at, items[-1][0].id) if more else None

    async def count(self, list_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(InfluencerListMember.list_id == list_id)
        return int(await self.session.scalar(stmt) or 0)

    async def delete(self, item: InfluencerList) -> None:
        await self.session.delete(item)
        await self.session.flush()

    async def add_members(self, list_id: uuid.UUID, influencer_ids: Sequence[uuid.UUID]) -> int:
        if not influencer_ids:
            return 0
        stmt = (
            pg_insert(InfluencerListMember)
            .values([{"list_id": list_id, "influencer_id": i} for i in influencer_ids])
            .on_conflict_do_nothing()
            .returning(InfluencerListMember.influencer_id)
        )
        return len((await self.session.execute(stmt)).all())

    async def remove_members(self, list_id: uuid.UUID, influencer_ids: Sequence[uuid.UUID]) -> int:
        stmt = delete(InfluencerListMember).where(
            InfluencerListMember.list_id == list_id, InfluencerListMember.influencer_id.in_(list(influencer_ids))
        )
        return int((await self.session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def members(self, list_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, builtins.list[uuid.UUID]]:
        """list id → its members, for the workspace's lists among these (others are left out)."""
        stmt = (
            select(InfluencerList.id, InfluencerListMember.influencer_id)
            .outerjoin(InfluencerListMember, InfluencerListMember.list_id == InfluencerList.id)
            .where(InfluencerList.workspace_id == self.workspace_id, InfluencerList.id.in_(list(list_ids)))
            .order_by(InfluencerListMember.created_at)
        )
        found: dict[uuid.UUID, builtins.list[uuid.UUID]] = {}
        for list_id, influencer_id in (await self.session.execute(stmt)).all():
            found.setdefault(list_id, [])
            if influencer_id is not None:
                found[list_id].append(influencer_id)
        return found
