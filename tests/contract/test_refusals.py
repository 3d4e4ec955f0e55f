"""What the fuzzer found in the shared plumbing, pinned down: bodies that cannot be parsed, text that
PostgreSQL cannot store, oversized bodies; each answered with a documented problem, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import Tenant
from tests.contract.support import served_contract, v1_operations

NUL = "\u0000"


async def test_a_body_that_is_not_utf8_answers_a_documented_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.write, "content-type": "application/json"}
    response = await client.post("/v1/reports", content=b'{"name": "\xff\xfe"}', headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/bad-request")


def test_every_operation_with_a_body_documents_400_and_413() -> None:
    for operation_id, (_, _, operation) in v1_operations(served_contract()).items():
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(operation["responses"]), operation_id


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/reports", {"name": f"Q1{NUL}"}, "body.name"),
        ("/v1/influencers", {"name": "Ada", "tags": ["ok", f"a{NUL}"]}, "body.tags.1"),
        ("/v1/campaigns", {"name": "Spring", "starts_on": "2026-03-01", "description": NUL}, "body.description"),
        ("/v1/api-keys", {"name": f"{NUL}ci"}, "body.name"),
    ],
)
async def test_nul_in_a_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, object], field: str
) -> None:
    response = await client.post(
        path, content=json.dumps(body), headers={**tenant.write, "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("path", "field"), [("/v1/influencers?q=a%00", "query.q"), ("/v1/links?label=%00", "query.label")]
)
async def test_nul_in_a_query_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant, path: str, field: str
) -> None:
    response = await client.get(path, headers=tenant.read)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_an_oversized_json_body_is_a_413_problem(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = json.dumps({"name": "Q1", "description": "x" * 2_000_000})
    response = await client.post(
        "/v1/reports", content=body, headers={**tenant.write, "content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
