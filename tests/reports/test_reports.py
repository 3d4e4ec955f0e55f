"""Reports end to end: router → service → repository → PostgreSQL, with auth and tenancy."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from tests.conftest import Tenant
from tests.contract.support import PUBLIC_OPERATIONS

pytestmark = pytest.mark.asyncio


async def test_create_then_get_list_update_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/reports", json={"name": "  Spring launch ", "description": "Drop 1"}, headers=tenant.write
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Spring launch"  # trimmed
    assert body["description"] == "Drop 1"
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    report_id = body["id"]

    fetched = await client.get(f"/v1/reports/{report_id}", headers=tenant.read)
    assert fetched.status_code == 200 and fetched.json() == body

    updated = await client.patch(f"/v1/reports/{report_id}", json={"description": None}, headers=tenant.write)
    assert updated.status_code == 200
    assert updated.json()["name"] == "Spring launch" and updated.json()["description"] is None

    renamed = await client.patch(f"/v1/reports/{report_id}", json={"name": "Summer"}, headers=tenant.write)
    assert renamed.json()["name"] == "Summer"

    listed = await client.get("/v1/reports", headers=tenant.read)
    assert [r["id"] for r in listed.json()["data"]] == [report_id]

    deleted = await client.delete(f"/v1/reports/{report_id}", headers=tenant.write)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = await client.get(f"/v1/reports/{report_id}", headers=tenant.read)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"name": 42}, "body.name"),
        ({"name": "ok", "colour": "red"}, "body.colour"),
        ({"name": "ok", "description": "d" * 5001}, "body.description"),
    ],
)
async def test_invalid_payloads_are_refused_with_field_errors(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/reports", json=payload, headers=tenant.write)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Validation Error"
    assert problem["type"].endswith("/validation-error")
    assert field in [e["field"] for e in problem["errors"]]
    assert all(e["reason"] for e in problem["errors"])
    listed = await client.get("/v1/reports", headers=tenant.read)
    assert listed.json()["data"] == []  # nothing was created


async def test_patch_refuses_null_name_and_changes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    report = (await client.post("/v1/reports", json={"name": "Keep"}, headers=tenant.write)).json()
    response = await client.patch(f"/v1/reports/{report['id']}", json={"name": None}, headers=tenant.write)
    assert response.status_code == 422
    assert (await client.get(f"/v1/reports/{report['id']}", headers=tenant.read)).json()["name"] == "Keep"


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/reports", content=b"{not json", headers={**tenant.write, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_pagination_walks_every_report_once_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = []
    for i in range(7):
        ids.append((await client.post("/v1/reports", json={"name": f"R{i}"}, headers=tenant.write)).json()["id"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/reports", params=params, headers=tenant.read)).json()
        pages += 1
        assert len(page["data"]) <= 3
        seen += [r["id"] for r in page["data"]]
        assert page["has_more"] == (page["next_cursor"] is not None)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"cursor": "garbage!"}])
async def test_bad_paging_parameters_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, object]
) -> None:
    response = await client.get("/v1/reports", params=params, headers=tenant.read)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("query.")


async def test_missing_and_invalid_keys_are_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for headers in ({}, {"Authorization": "Bearer lp_nope"}, {"Authorization": f"Basic {tenant.write_key}"}):
        response = await client.get("/v1/reports", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_read_only_key_cannot_write(client: httpx.AsyncClient, tenant: Tenant) -> None:
    report = (await client.post("/v1/reports", json={"name": "Mine"}, headers=tenant.write)).json()
    attempts = [
        client.post("/v1/reports", json={"name": "Nope"}, headers=tenant.read),
        client.patch(f"/v1/reports/{report['id']}", json={"name": "Nope"}, headers=tenant.read),
        client.delete(f"/v1/reports/{report['id']}", headers=tenant.read),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403
        assert "write" in response.json()["detail"]
    assert (await client.get(f"/v1/reports/{report['id']}", headers=tenant.read)).json()["name"] == "Mine"
    assert len((await client.get("/v1/reports", headers=tenant.read)).json()["data"]) == 1


async def test_another_workspaces_report_is_404_and_untouched(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    report = (await client.post("/v1/reports", json={"name": "Secret"}, headers=acme.write)).json()
    url = f"/v1/reports/{report['id']}"
    assert (await client.get(url, headers=rival.write)).status_code == 404
    assert (await client.patch(url, json={"name": "Hijacked"}, headers=rival.write)).status_code == 404
    assert (await client.delete(url, headers=rival.write)).status_code == 404
    assert (await client.get("/v1/reports", headers=rival.read)).json()["data"] == []
    assert (await client.get(url, headers=acme.read)).json()["name"] == "Secret"


async def test_unknown_report_and_bad_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    missing = await client.get(f"/v1/reports/{uuid.uuid4()}", headers=tenant.read)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/not-found")
    malformed = await client.get("/v1/reports/not-a-uuid", headers=tenant.read)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "path.report_id"


async def test_every_v1_operation_refuses_a_missing_key(client: httpx.AsyncClient) -> None:
    """Routes are authenticated by default: walk the served contract, so a new route is covered too. The
    public sign-in routes are the only exceptions."""
    spec = client._transport.app.openapi()  # type: ignore[attr-defined]
    checked = 0
    for path, item in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        concrete = path
        for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
            concrete = concrete.replace(f"{{{name}}}", str(uuid.uuid4()))
        for method, operation in item.items():
            if operation["operationId"] in PUBLIC_OPERATIONS:
                continue
            response = await client.request(method.upper(), concrete)
            assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
            checked += 1
    assert checked >= 40
