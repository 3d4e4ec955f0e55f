"""Worker jobs of workspaces: erasing the ones their owners deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.workspaces.repository import WorkspaceEraser, WorkspaceRepository

log = structlog.get_logger(__name__)


async def erase_deleted_workspaces(ctx: dict[str, Any]) -> int:
    """Worker cron: the workspaces deleted at least `workspace_erase_after_minutes` ago, erased one by one
    (see WorkspaceEraser); an erase cut short is simply done again next time."""
    process: ProcessContext = ctx["process"]
    before = utcnow() - timedelta(minutes=process.settings.workspace_erase_after_minutes)
    async with process.sessionmaker() as session:
        due = await WorkspaceRepository(session).deleted_before(before)
    eraser = WorkspaceEraser(process.engine)
    for workspace_id in due:
        rows = await eraser.erase(workspace_id)
        log.info("workspace erased", workspace_id=str(workspace_id), loose_rows=rows)
    return len(due)
