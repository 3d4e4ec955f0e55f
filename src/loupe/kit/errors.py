"""One error model: RFC 9457 problem details, rendered by one set of handlers."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from loupe.kit.outages import outage_of
from loupe.kit.schemas import NUL_REASON

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://loupe.dev/problems/"

log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `body.name`.", examples=["body.name"])
    reason: str = Field(description="Why the value was refused.", examples=["Field required"])


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["Report 0b4f... was not found."])
    instance: str | None = Field(default=None, examples=["/v1/reports/0b4f..."])
    errors: list[FieldError] | None = Field(default=None, description="Field errors, for validation problems.")


class LoupeError(Exception):
    """An error the API answers with a problem document."""

    status = 500
    slug = "internal-error"
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class BadRequest(LoupeError):
    status, slug, title = 400, "bad-request", "Bad Request"


class Unauthorized(LoupeError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(LoupeError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(LoupeError):
    status, slug, title = 404, "not-found", "Not Found"


class Conflict(LoupeError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(LoupeError):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(LoupeError):
    status, slug, title = 413, "payload-too-large", "Payload Too Large"


class UnsupportedMediaType(LoupeError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported Media Type"


class ValidationFailed(LoupeError):
    status, slug, title = 422, "validation-error", "Validation Error"

    @classmethod
    def on(cls, field: str, reason: str) -> ValidationFailed:
        return cls(reason, errors=[FieldError(field=field, reason=reason)])


class TooManyRequests(LoupeError):
    status, slug, title = 429, "too-many-requests", "Too Many Requests"


class ServiceUnavailable(LoupeError):
    status, slug, title = 503, "service-unavailable", "Service Unavailable"


_STATUS_SLUGS = {cls.status: cls for cls in LoupeError.__subclasses__()}


def problem_response(
    status: int,
    title: str,
    *,
    slug: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoupeError)
    async def _loupe_error(request: Request, exc: LoupeError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            slug=exc.slug,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldError(field=_field_path(e["loc"]), reason=e["msg"]) for e in exc.errors()]
        return problem_response(
            422,
            "Validation Error",
            slug="validation-error",
            instance=request.url.path,
            detail="The request is not valid; see `errors`.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = _STATUS_SLUGS.get(exc.status_code)
        title = known.title if known else str(exc.detail)
        detail = str(exc.detail) if exc.detail and str(exc.detail) != title else None
        return problem_response(
            exc.status_code,
            title,
            slug=known.slug if known else None,
            detail=detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # Never echo SQL or constraint internals; a unique/foreign-key clash is a conflict.
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        log.info("integrity_error", constraint=constraint)
        return problem_response(
            409,
            "Conflict",
            slug="conflict",
            instance=request.url.path,
            detail=CONSTRAINT_CONFLICTS.get(constraint or "", GENERIC_CONFLICT),
        )

    def _unavailable(request: Request, exc: Exception) -> JSONResponse | None:
        """A 503 the client may retry when `exc` says PostgreSQL or Redis is unreachable (logged, no trace)."""
        dependency = outage_of(exc)
        if dependency is None:
            return None
        log.warning("dependency_unavailable", dependency=dependency, error=type(exc).__name__, path=request.url.path)
        name = "PostgreSQL" if dependency == "database" else "Redis"
        return problem_response(
            503,
            "Service Unavailable",
            slug="service-unavailable",
            instance=request.url.path,
            detail=f"{name} is unreachable for a moment; the request did not complete. Retry after a few seconds.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    # Handled here rather than by the catch-all: that one is Starlette's last resort, which logs a trace.
    @app.exception_handler(RedisError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, exc) or await _unexpected(request, exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if (unavailable := _unavailable(request, exc)) is not None:
            return unavailable
        # Deadlocks and serialisation failures: the transaction was rolled back whole, so the client
        # may simply try again. Anything else is a server error.
        if _sqlstate(exc) in RETRYABLE_SQLSTATES:
            log.info("transaction_conflict", sqlstate=_sqlstate(exc), path=request.url.path)
            return problem_response(
                409,
                "Conflict",
                slug="concurrent-update",
                instance=request.url.path,
                detail="Another request changed the same data at the same time; nothing was saved. Retry.",
                headers={"Retry-After": "1"},
            )
        if _sqlstate(exc) in UNSTORABLE_TEXT_SQLSTATES:
            # Text PostgreSQL cannot hold (U+0000) that no schema refused: a query parameter, a form field.
            reason = NUL_REASON
            fields = [f"query.{name}" for name, value in request.query_params.multi_items() if "\x00" in value]
            return problem_response(
                422,
                "Validation Error",
                slug="validation-error",
                instance=request.url.path,
                detail=reason,
                errors=[FieldError(field=field, reason=reason) for field in fields or ["body"]],
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(500, "Internal Server Error", slug="internal-error", instance=request.url.path)


# What a refused change means, in the words of the domain that owns the constraint (`explain_conflict`).
CONSTRAINT_CONFLICTS: dict[str, str] = {}
GENERIC_CONFLICT = "The request conflicts with the current state of the resource."


def explain_conflict(constraint: str, detail: str) -> None:
    """The 409 detail for a change refused by `constraint`: the database enforces the rule, race-free, and
    the domain owning the constraint says why, so the domain whose row was refused need not know it."""
    CONSTRAINT_CONFLICTS[constraint] = detail


RETRY_AFTER_SECONDS = 5  # what a 503 for an unreachable PostgreSQL or Redis asks the client to wait
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
UNSTORABLE_TEXT_SQLSTATES = {"22021", "22P05"}  # character not in repertoire (NUL in text), untranslatable (in JSON)


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the OpenAPI contract: each status documented as a problem document."""
    descriptions = {
        400: "The request cannot be processed.",
        401: "Missing or invalid credential (API key or access token).",
        403: "The credential lacks the role or scope this operation needs.",
        404: "The resource does not exist in this workspace.",
        409: "The request conflicts with the current state.",
        410: "The resource is gone for good.",
        413: "The request body is too large.",
        415: "The uploaded file is not of an accepted type or encoding.",
        422: "The payload is not valid; `errors` lists each field and the reason.",
        429: "Too many requests; retry after the number of seconds in `Retry-After`.",
        503: "PostgreSQL or Redis is unreachable for a moment; retry after the seconds in `Retry-After`.",
    }
    return {status: {"model": Problem, "description": descriptions[status]} for status in statuses}
