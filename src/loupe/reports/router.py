from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.reports.schemas import ReportCreate, ReportPage, ReportRead, ReportUpdate
from loupe.reports.service import ReportService
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/reports", tags=["reports"])


@router.post(
    "",
    operation_id="reports_create",
    summary="Create a report",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_report(body: ReportCreate, principal: WritePrincipal, session: SessionDep) -> ReportRead:
    """Creates a report: a container of trackings. `name` is required."""
    return ReportRead.model_validate(await ReportService(session, principal).create(body))


@router.get("", operation_id="reports_list", summary="List reports", responses=problem_responses(422))
async def list_reports(principal: ReadPrincipal, session: SessionDep, page: PageParamsDep) -> ReportPage:
    """Reports of the workspace, newest first."""
    items, cursor = await ReportService(session, principal).list(page)
    return ReportPage.of(items, cursor)


@router.get("/{report_id}", operation_id="reports_get", summary="Get a report", responses=problem_responses(404))
async def get_report(report_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> ReportRead:
    return ReportRead.model_validate(await ReportService(session, principal).get(report_id))


@router.patch(
    "/{report_id}",
    operation_id="reports_update",
    summary="Update a report",
    responses=problem_responses(404, 422),
)
async def update_report(
    report_id: uuid.UUID, body: ReportUpdate, principal: WritePrincipal, session: SessionDep
) -> ReportRead:
    """Changes the fields sent; others stay as they are."""
    return ReportRead.model_validate(await ReportService(session, principal).update(report_id, body))


@router.delete(
    "/{report_id}",
    operation_id="reports_delete",
    summary="Delete a report",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_report(report_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Deletes the report and what it contains."""
    await ReportService(session, principal).delete(report_id)
