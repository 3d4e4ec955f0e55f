"""The OpenAPI contract: problem responses as application/problem+json, one Problem schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
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
            # Every authenticated operation may answer 401; write operations 403 too. Every one reads
            # PostgreSQL (the key at least), so it answers 503 while PostgreSQL or Redis is unreachable.
            if operation.get("security"):
                operation["responses"].setdefault("503", UNAVAILABLE)
                operation["responses"].setdefault(
                    "401",
                    {"description": "Missing or invalid API key.", "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}},
                )
                if method in WRITE_METHODS:
                    operation["responses"].setdefault(
                        "403",
                        {
                            "description": "The API key lacks the `write` scope.",
                            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                        },
                    )
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema
