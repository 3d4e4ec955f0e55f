"""A job a change needs is committed with the change: a Redis that refuses it after the commit loses
nothing, the worker's sweep queues it, and arq's job id keeps it from running twice."""

from __future__ import annotations

from sqlalchemy import func, select, text

from loupe.kit.context import ProcessContext
from loupe.kit.embedded import free_port
from loupe.kit.jobs import QUEUE_NAME, JobBuffer, StagedJob, create_job_pool, send_staged


async def _staged(db: ProcessContext) -> list[tuple[str, str | None, dict[str, str]]]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(StagedJob).order_by(StagedJob.created_at))).scalars().all()
        return [(row.function, row.job_id, row.kwargs) for row in rows]


async def _commit_with(db: ProcessContext, jobs: JobBuffer) -> None:
    async with db.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        await jobs.stage(session)
        await session.commit()


async def _age_staged_rows(db: ProcessContext) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE staged_jobs SET created_at = now() - interval '1 minute'"))


async def test_a_job_redis_refused_after_the_commit_is_queued_by_the_sweep(db: ProcessContext) -> None:
    dead = await create_job_pool(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    jobs = JobBuffer()
    jobs.enqueue("rematch_tracking", job_id="rematch:t1", tracking_id="t1")
    jobs.enqueue("deliver_outbox", nudge=True)
    await _commit_with(db, jobs)
    await jobs.flush(dead, db.engine)  # Redis is gone between the commit and the enqueue: no error
    await dead.aclose()
    assert await _staged(db) == [("rematch_tracking", "rematch:t1", {"tracking_id": "t1"})]  # the nudge is not

    assert await send_staged(db.engine, db.arq) == 0  # within its grace period, its request may still send it
    await _age_staged_rows(db)
    assert await send_staged(db.engine, db.arq) == 1
    assert await _staged(db) == []
    queued = [job.job_id for job in await db.arq.queued_jobs(queue_name=QUEUE_NAME)]
    assert queued == ["rematch:t1"]


async def test_a_job_sent_after_the_commit_leaves_no_row(db: ProcessContext) -> None:
    jobs = JobBuffer()
    jobs.enqueue("refresh_connection", job_id="refresh:c1", connection_id="c1")
    await _commit_with(db, jobs)
    assert len(await _staged(db)) == 1  # committed with the change
    await jobs.flush(db.arq, db.engine)
    assert await _staged(db) == []
    assert [job.job_id for job in await db.arq.queued_jobs(queue_name=QUEUE_NAME)] == ["refresh:c1"]


async def test_a_rolled_back_change_stages_nothing(db: ProcessContext) -> None:
    jobs = JobBuffer()
    jobs.enqueue("refresh_connection", job_id="refresh:c2", connection_id="c2")
    async with db.sessionmaker() as session:
        await jobs.stage(session)
        await session.rollback()
    async with db.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(StagedJob))).scalar_one() == 0


async def test_a_job_both_sent_and_swept_is_queued_once(db: ProcessContext) -> None:
    """The request's enqueue worked but its crossing-off did not (PostgreSQL went away): the sweep sends
    the row again, and arq, seeing the same job id queued, keeps one."""
    jobs = JobBuffer()
    jobs.enqueue("rematch_tracking", job_id="rematch:t2", tracking_id="t2")
    await _commit_with(db, jobs)
    await jobs.flush(db.arq)  # no engine: the row is not crossed off
    await _age_staged_rows(db)
    assert await send_staged(db.engine, db.arq) == 1
    assert [job.job_id for job in await db.arq.queued_jobs(queue_name=QUEUE_NAME)] == ["rematch:t2"]
