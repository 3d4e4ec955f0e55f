"""Worker jobs of account data: the every-minute scheduler of daily refreshes."""

from __future__ import annotations

from typing import Any

from loupe.accounts.repository import RefreshRepository
from loupe.kit.context import ProcessContext

BATCH = 2_000  # accounts enqueued per scheduler run at most (5,000 accounts: about 3.5 due per minute)


def refresh_job_id(connection_id: object) -> str:
    """One id per account: a refresh queued (by the scheduler or by hand) is never queued twice."""
    return f"refresh:{connection_id}"


async def schedule_refreshes(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker cron (every minute): enqueue the accounts whose slot has come. Each account's slot is its own
    (`refresh.slot_of`), so the day's refreshes arrive evenly instead of at midnight."""
    process: ProcessContext = ctx["process"]
    async with process.sessionmaker() as session:
        due = await RefreshRepository(session).due(process.clock.now(), BATCH)
    queued = 0
    for connection_id, _ in due:
        job = await process.arq.enqueue_job(
            "refresh_connection", str(connection_id), _job_id=refresh_job_id(connection_id)
        )
        queued += job is not None
    return {"due": len(due), "queued": queued}
