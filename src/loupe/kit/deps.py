"""Request-scoped dependencies: the request owns its session and transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.context import ProcessContext
from loupe.kit.jobs import JobBuffer


def get_context(request: Request) -> ProcessContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def get_jobs(request: Request) -> JobBuffer:
    jobs = getattr(request.state, "jobs", None)
    if jobs is None:
        jobs = request.state.jobs = JobBuffer()
    return jobs  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed after the endpoint returns, rolled back on any error.

    Services only flush. Jobs buffered during the request are staged in its transaction and enqueued
    after the commit, so a job never sees a rolled-back change, and one Redis refused at that moment is
    sent by the worker later (kit.jobs).
    """
    ctx = get_context(request)
    jobs = get_jobs(request)
    async with ctx.sessionmaker() as session:
        try:
            yield session
            await jobs.stage(session)
        except BaseException:
            await session.rollback()
            jobs.discard()
            raise
        await session.commit()
        await jobs.flush(ctx.arq, ctx.engine)


# scope="function": commit before the response is sent, so a failed commit is answered as an error.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
JobsDep = Annotated[JobBuffer, Depends(get_jobs)]
ContextDep = Annotated[ProcessContext, Depends(get_context)]
