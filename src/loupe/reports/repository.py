from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.pagination import PageParams, build_page, keyset
from loupe.reports.models import Report


class ReportRepository:
    """Reports of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, report: Report) -> Report:
        report.workspace_id = self.workspace_id
        self.session.add(report)
        await self.session.flush()
        return report

    async def get(self, report_id: uuid.UUID) -> Report | None:
        stmt = select(Report).where(Report.workspace_id == self.workspace_id, Report.id == report_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, params: PageParams) -> tuple[list[Report], str | None]:
        stmt = select(Report).where(Report.workspace_id == self.workspace_id)
        rows = list((await self.session.execute(keyset(stmt, params, Report.created_at, Report.id))).scalars())
        return build_page(rows, params)

    async def delete(self, report: Report) -> None:
        await self.session.delete(report)
        await self.session.flush()
