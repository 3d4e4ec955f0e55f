"""Operational endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from loupe.kit.deps import ContextDep
from loupe.kit.errors import problem_responses
from loupe.kit.metrics import public_metrics_allowed

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", operation_id="healthz", summary="Liveness")
async def healthz() -> Health:
    """The process is up. Checks nothing else."""
    return Health(status="ok")


@router.get("/readyz", operation_id="readyz", summary="Readiness", responses=problem_responses(503))
async def readyz(ctx: ContextDep, response: Response) -> Health:
    """PostgreSQL and Redis both answer within two seconds."""

    async def database() -> None:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await ctx.arq.ping()

    checks: dict[str, str] = {}
    for name, check in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(check(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is logged, not exposed
            checks[name] = f"unavailable ({type(exc).__name__})"
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return Health(status="ok" if ok else "unavailable", checks=checks)


@router.get("/metrics", include_in_schema=False)
async def metrics(ctx: ContextDep, request: Request) -> Response:
    """Prometheus metrics, where the settings allow them on the public port (else 404, as if absent)."""
    if not public_metrics_allowed(ctx.settings, request.headers.get("authorization")):
        return Response(status_code=404)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
