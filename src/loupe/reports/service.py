from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.errors import NotFound
from loupe.kit.pagination import PageParams
from loupe.reports.models import Report
from loupe.reports.repository import ReportRepository
from loupe.reports.schemas import ReportCreate, ReportUpdate
from loupe.workspaces.auth import Principal


class ReportService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.reports = ReportRepository(session, principal.workspace_id)

    async def create(self, data: ReportCreate) -> Report:
        return await self.reports.add(Report(name=data.name, description=data.description))

    async def get(self, report_id: uuid.UUID) -> Report:
        report = await self.reports.get(report_id)
        if report is None:
            raise NotFound(f"Report {report_id} was not found.")
        return report

    async def list(self, params: PageParams) -> tuple[list[Report], str | None]:
        return await self.reports.list(params)

    async def update(self, report_id: uuid.UUID, data: ReportUpdate) -> Report:
        report = await self.get(report_id)
        for field, value in data.model_dump(exclude_unset=True).items():
            setattr(report, field, value)
        await self.reports.session.flush()
        return report

    async def delete(self, report_id: uuid.UUID) -> None:
        await self.reports.delete(await self.get(report_id))
