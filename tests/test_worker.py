"""A real arq worker against the real Redis: jobs run, and only after the request committed."""

from __future__ import annotations

import httpx
import pytest
from arq.jobs import Job, JobStatus
from fastapi import FastAPI

from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.kit.deps import JobsDep, SessionDep
from loupe.kit.jobs import JobBuffer
from loupe.worker import create_worker


def _app_with_job_routes(settings: Settings, db: ProcessContext) -> FastAPI:
    from loupe.app import create_app

    app = create_app(settings, context=db)

    @app.post("/enqueue-ok")
    async def ok(session: SessionDep, jobs: JobsDep) -> dict[str, str]:
        jobs.enqueue("heartbeat", job_id="after-commit", note="committed")
        return {"status": "ok"}

    @app.post("/enqueue-fail")
    async def fail(session: SessionDep, jobs: JobsDep) -> None:
        jobs.enqueue("heartbeat", job_id="rolled-back", note="never")
        raise RuntimeError("the request fails after buffering a job")

    return app


async def test_jobs_are_sent_after_commit_and_dropped_on_failure(
    settings: Settings, db: ProcessContext, database_url: str, redis_url: str
) -> None:
    app = _app_with_job_routes(settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/enqueue-ok")).status_code == 200
        assert (await client.post("/enqueue-fail")).status_code == 500

    assert await Job("rolled-back", db.arq).status() == JobStatus.not_found
    worker = create_worker(settings, database_url, redis_url, burst=True, poll_delay=0.05)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    result = await Job("after-commit", db.arq, _deserializer=_json).result(timeout=5)
    assert result["note"] == "committed" and result["database_time"]


async def test_job_ids_deduplicate(db: ProcessContext) -> None:
    buffer = JobBuffer()
    buffer.enqueue("heartbeat", job_id="same")
    buffer.enqueue("heartbeat", job_id="same")
    await buffer.flush(db.arq)
    assert await db.arq.zcard("loupe:queue") == 1


async def test_worker_refuses_to_start_when_schema_is_behind(
    settings: Settings, db: ProcessContext, database_url: str, redis_url: str
) -> None:
    from sqlalchemy import text

    from loupe.kit.migrations import current_heads

    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'stale'"))
    worker = create_worker(settings, database_url, redis_url, burst=True)
    try:
        with pytest.raises(RuntimeError, match="loupe migrate"):
            await worker.async_run()
    finally:
        await worker.close()
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": next(iter(current_heads()))})


def _json(data: bytes) -> dict:  # type: ignore[type-arg]
    from loupe.kit.jobs import deserialize

    return deserialize(data)
