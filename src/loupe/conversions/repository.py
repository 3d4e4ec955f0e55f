from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.clicks.models import Click
from loupe.clicks.rollups import HOLD_SHARED
from loupe.conversions.models import Conversion
from loupe.conversions.rollups import ADD_CONVERSION


class ConversionRepository:
    """Conversions and the clicks they point at, of one workspace only."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def by_external_id(self, external_id: str) -> Conversion | None:
        stmt = select(Conversion).where(
            Conversion.workspace_id == self.workspace_id, Conversion.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find_click(self, click_id: uuid.UUID) -> Any:
        """(id, clicked_at, link_id) of the workspace's click, or None (another workspace's click is unknown)."""
        stmt = select(Click.id, Click.clicked_at, Click.link_id).where(
            Click.workspace_id == self.workspace_id, Click.id == click_id
        )
        return (await self.session.execute(stmt)).one_or_none()

    async def insert(self, values: dict[str, Any]) -> bool:
        """Insert unless the external id is taken (a concurrent twin), and add it to its roll-ups in the
        same transaction; True if this call inserted it."""
        await self.session.execute(text(HOLD_SHARED))
        stmt = (
            insert(Conversion)
            .values(id=uuid.uuid4(), workspace_id=self.workspace_id, **values)
            .on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
            .returning(Conversion.id)
        )
        inserted = (await self.session.execute(stmt)).scalar_one_or_none()
        if inserted is not None:
            await self.session.execute(text(ADD_CONVERSION), {"id": inserted})
        return inserted is not None

    async def now(self) -> datetime:
        return (await self.session.execute(select(func.now()))).scalar_one()
