"""The OpenAPI contract: problem responses as application/problem+json, one Problem schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from loupe.kit.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
WRITE_METHODS = {"post", "put", "patch", "delete"}
BODY_REFUSALS = {
    "400": "The request body cannot be parsed (JSON that is not UTF-8, broken multipart).",
    "413": "The request body is too large.",
}


UNAVAILABLE = {
    "description": "PostgreSQL or Redis is unreachable for a moment and the request did not complete; "
    "retry after the seconds in `Retry-After`.",
    "headers": {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
}

RATE_LIMITED = {
    "description": "The credential is over its rate limit (`RateLimit-Policy`, sent with every answer, says "
    "which); retry after the seconds in `Retry-After`.",
    "headers": {
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
        "RateLimit-Policy": {
            "description": 'The quota and window, e.g. `"default";q=600;w=60`.',
            "schema": {"type": "string"},
        },
        "RateLimit": {
            "description": 'What is left and when it is whole, e.g. `"default";r=0;t=60`.',
            "schema": {"type": "string"},
        },
    },
    "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    _publish_access(app, schema)
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            for code, response in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            # Any body may be refused before validation: 400 when it cannot be parsed at all (JSON that is
            # not UTF-8, broken multipart), 413 over the size limit (the body size middleware). A parsed
            # body that is not valid answers 422.
            if "requestBody" in operation:
                for status, description in BODY_REFUSALS.items():
                    operation["responses"].setdefault(
                        status, {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
                    )
            if method == "post" and operation.get("security") and "201" in operation.get("responses", {}):
                _document_idempotency(operation)
            # Every authenticated operation may answer 401; write operations 403 too. Every one reads
            # PostgreSQL (the key at least), so it answers 503 while PostgreSQL or Redis is unreachable.
            if operation.get("security"):
                operation["responses"].setdefault("503", UNAVAILABLE)
                operation["responses"].setdefault("429", RATE_LIMITED)
                operation["responses"].setdefault(
                    "401",
                    {
                        "description": "Missing or invalid credential (API key or access token).",
                        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                    },
                )
                operation["responses"].setdefault(
                    "403",
                    {
                        "description": "The credential lacks the role or scope this operation needs.",
                        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                    },
                )
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def operations(app: FastAPI) -> list[Any]:
    """The app's API routes as served, inside included routers too (recent FastAPI keeps them nested)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    routes = list(contexts(app.routes)) if contexts else list(app.routes)
    return [
        r
        for r in routes
        if isinstance(getattr(r, "original_route", r), routing.APIRoute) and getattr(r, "include_in_schema", False)
    ]


def _access_of(dependant: Dependant) -> dict[str, Any] | None:
    """The access an operation declared: the `access` of its authorizing dependency (see workspaces.auth)."""
    for dependency in dependant.dependencies:
        access = getattr(dependency.call, "access", None)
        if access is not None:
            return access.contract()  # type: ignore[no-any-return]
        found = _access_of(dependency)
        if found is not None:
            return found
    return None


def _publish_access(app: FastAPI, schema: dict[str, Any]) -> None:
    """`x-loupe-access` on every operation that declared what it needs ({role, scope}), and a line saying it
    in its description."""
    for route in operations(app):
        access = _access_of(route.dependant)
        if access is None:
            continue
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["x-loupe-access"] = access
            operation["description"] = (operation.get("description", "") + "\n\n" + _describe(access)).strip()


def _describe(access: dict[str, Any]) -> str:
    if access["role"] is None:
        return "**Access:** a signed-in person's access token (API keys cannot call this)."
    role = f"a person with the role `{access['role']}` or higher"
    if access["scope"] is None:
        return f"**Access:** {role} (API keys cannot call this)."
    return f"**Access:** {role}, or an API key with the `{access['scope']}` scope."


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (1-255 printable ASCII), e.g. a UUID. Sending the same request again "
    "with the same key within 24 hours answers the first answer (with `Idempotent-Replayed: true`) instead of "
    "creating a second resource; the same key with another body answers 422, and while the first request "
    "still runs, 409. Per credential.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "5f0c7c1e-3b8e-4c55-a3a5-0e9f7d7c2b11",
}


def _document_idempotency(operation: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    responses = operation["responses"]
    for status, also in (
        ("409", "A request with this `Idempotency-Key` is still in progress."),
        ("422", "This `Idempotency-Key` was used with another request."),
    ):
        response = responses.setdefault(status, {"description": "", "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}})
        response["description"] = f"{response['description']} {also}".strip()
