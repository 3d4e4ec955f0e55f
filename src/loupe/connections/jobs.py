"""Worker jobs of connections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loupe.connections.repository import AttemptRepository
from loupe.kit.db import utcnow

ATTEMPT_RETENTION = timedelta(days=1)  # what a day-old failed trip still tells an operator, then nothing


async def purge_connect_attempts(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker cron (hourly): connect attempts are dead after 10 minutes; their rows (with any pending,
    encrypted token) go a day later."""
    process = ctx["process"]
    async with process.sessionmaker() as session, session.begin():
        purged = await AttemptRepository(session).purge_before(utcnow() - ATTEMPT_RETENTION)
    return {"purged": purged}
