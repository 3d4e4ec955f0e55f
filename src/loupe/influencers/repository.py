from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, Text, any_, bindparam, delete, exists, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from loupe.influencers.models import Influencer, InfluencerProfile
from loupe.kit.db import like_contains
from loupe.kit.pagination import PageParams, build_page, keyset


@dataclass(frozen=True)
class InfluencerFilters:
    tag: str | None = None
    platform: str | None = None
    q: str | None = None


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
            stmt = stmt.where(func.lower(Influencer.name).like(like_contains(filters.q.lower()), escape="\\"))
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
