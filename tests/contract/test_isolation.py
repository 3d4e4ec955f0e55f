"""Tenant isolation, generated from the contract: every `/v1` operation with a path parameter, called by
workspace B on workspace A's resources, answers 404 and changes nothing.

The operations are read from the served contract at collection time (one test per operation id), so a
new operation is checked as soon as it exists, and a path parameter without a factory fails its test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from tests.conftest import Tenant
from tests.contract.support import (
    BASE_URL,
    PNG,
    SHOP,
    World,
    diff,
    dump,
    recently,
    seed,
    served_contract,
    v1_operations,
)

OPERATIONS = v1_operations(served_contract())


def _path_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]


# A person's own operations (API keys cannot call them) are checked between two people in tests/team.
WITH_PATH_PARAMETERS = sorted(
    op_id
    for op_id, (_, _, op) in OPERATIONS.items()
    if _path_parameters(op) and op.get("x-loupe-access", {}).get("scope") is not None
)
READS = [op_id for op_id in WITH_PATH_PARAMETERS if OPERATIONS[op_id][0] == "get"]

# A real id of workspace A for each path parameter name: every id is of the one seeded world, so nested
# paths hold together (the influencer is a creator of the campaign, the story is theirs, the link too).
FACTORIES: dict[str, Callable[[World], str]] = {
    "report_id": lambda a: a.ids["report_id"],
    "campaign_id": lambda a: a.ids["campaign_id"],
    "influencer_id": lambda a: a.ids["influencer_id"],
    "link_id": lambda a: a.ids["link_id"],
    "story_id": lambda a: a.ids["story_id"],
    "api_key_id": lambda a: a.ids["api_key_id"],
    "invite_id": lambda a: a.ids["invite_id"],
    "connected_account_id": lambda a: a.ids["connected_account_id"],
    "index": lambda a: "0",
    "content_id": lambda a: a.ids["content_id"],
    "invitation_id": lambda a: a.ids["invitation_id"],
    "person_id": lambda a: a.ids["person_id"],
    "tracking_id": lambda a: a.ids["tracking_id"],
    "list_id": lambda a: a.ids["list_id"],
}

# A valid request body per operation, in B's own terms (ids in bodies are B's), so that the request is
# refused for the path's resource, not by validation. Arguments of httpx's `request`.
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "reports_update": lambda b: {"json": {"name": "Taken over"}},
    "influencers_update": lambda b: {"json": {"name": "Taken over"}},
    "campaigns_update": lambda b: {"json": {"name": "Taken over", "story_capture": False}},
    "campaigns_creators_add": lambda b: {"json": {"influencer_ids": [b.extra["other_influencer_id"]]}},
    "campaigns_creators_move": lambda b: {"json": {"stage": "completed"}},
    "links_campaign_create": lambda b: {"json": {"name": "Mine", "destination": SHOP}},
    "links_update": lambda b: {"json": {"destination": "https://evil.example/"}},
    "campaigns_message_preview": lambda b: {"json": {"template": "Hi", "influencer_id": b.ids["influencer_id"]}},
    "contents_update": lambda b: {"json": {"metrics": {"likes": 5, "impressions": None}}},
    "team_members_update": lambda b: {"json": {"role": "viewer"}},
    "trackings_create": lambda b: {
        "json": {"name": "Mine", "network": "instagram", "hashtags": ["x"], "start_date": recently()[:10]}
    },
    "trackings_update": lambda b: {"json": {"name": "Taken over"}},
    "trackings_profiles_add": lambda b: {"json": {"handles": ["@taken"]}},
    "trackings_profiles_remove": lambda b: {"json": {"profile_ids": [b.ids["tracking_id"]]}},
    "influencer_lists_update": lambda b: {"json": {"name": "Taken over"}},
    "influencer_lists_members_add": lambda b: {"json": {"influencer_ids": [b.ids["influencer_id"]]}},
    "influencer_lists_members_remove": lambda b: {"json": {"influencer_ids": [b.ids["influencer_id"]]}},
    "campaigns_stories_capture": lambda b: {
        "data": {"posted_at": recently()},
        "files": {"media": ("story.png", PNG, "image/png")},
    },
}


def _body(operation_id: str, operation: dict[str, Any], b: World) -> dict[str, Any]:
    if "requestBody" not in operation:
        return {}
    if operation_id in BODIES:
        return BODIES[operation_id](b)
    pytest.fail(f"{operation_id} takes a body: add a valid one to BODIES in {__name__}")


def _url(operation_id: str, a: World) -> tuple[str, str, dict[str, Any]]:
    method, path, operation = OPERATIONS[operation_id]
    values = {}
    for name in _path_parameters(operation):
        if name not in FACTORIES:
            pytest.fail(f"{operation_id}: no factory for path parameter `{name}`; add one to FACTORIES in {__name__}")
        values[name] = FACTORIES[name](a)
    return method.upper(), path.format(**values), operation


@pytest.fixture
async def worlds(app, make_tenant, db: ProcessContext):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        a_tenant: Tenant = await make_tenant("Acme")
        b_tenant: Tenant = await make_tenant("Rival")
        a = await seed(client, a_tenant, db)
        b = await seed(client, b_tenant, db)
        yield client, a, b


async def _refused(
    client: httpx.AsyncClient, db: ProcessContext, operation_id: str, a: World, b: World, headers: dict[str, str]
) -> None:
    method, url, operation = _url(operation_id, a)
    before = await dump(db)
    response = await client.request(method, url, headers=headers, **_body(operation_id, operation, b))
    assert response.status_code == 404, f"{method} {url} by another workspace: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    changes = diff(before, await dump(db))
    assert not changes, f"{method} {url} by another workspace changed data:\n" + "\n".join(changes)


@pytest.mark.parametrize("operation_id", WITH_PATH_PARAMETERS)
async def test_another_workspace_gets_404_and_changes_nothing(operation_id: str, worlds, db: ProcessContext) -> None:  # type: ignore[no-untyped-def]
    client, a, b = worlds
    await _refused(client, db, operation_id, a, b, b.tenant.write)

    # The ids are real: the owner's own call finds the resources (whatever it then decides).
    method, url, operation = _url(operation_id, a)
    response = await client.request(method, url, headers=a.tenant.write, **_body(operation_id, operation, a))
    assert response.status_code != 404 and response.status_code < 500, f"owner: {response.status_code} {response.text}"


@pytest.mark.parametrize("operation_id", READS)
async def test_another_workspace_read_key_gets_404(operation_id: str, worlds, db: ProcessContext) -> None:  # type: ignore[no-untyped-def]
    client, a, b = worlds
    await _refused(client, db, operation_id, a, b, b.tenant.read)
    method, url, _ = _url(operation_id, a)
    response = await client.request(method, url, headers=a.tenant.read)
    assert response.status_code == 200, f"owner's read key: {response.status_code} {response.text}"


# Ids of workspace A given in B's bodies and queries (not in the path): refused or not found, never used.
CROSS_REFERENCES: dict[str, Callable[[World, World], dict[str, Any]]] = {
    "links_create": lambda a, b: {
        "json": {
            "campaign_id": a.ids["campaign_id"],
            "influencer_id": a.ids["influencer_id"],
            "name": "Bio",
            "destination": SHOP,
        }
    },
    "campaigns_creators_add": lambda a, b: {"json": {"influencer_ids": [a.extra["other_influencer_id"]]}},
    "campaigns_message_preview": lambda a, b: {"json": {"template": "Hi", "influencer_id": a.ids["influencer_id"]}},
    "conversions_create": lambda a, b: {
        "json": {"click_id": a.extra["click_id"], "event": "purchase", "external_id": "order-1"}
    },
    "links_list": lambda a, b: {"params": {"campaign_id": a.ids["campaign_id"]}},
    "invite_template_preview": lambda a, b: {"json": {"invite_id": a.ids["invite_id"]}},
    "campaigns_stories_list": lambda a, b: {"params": {"influencer_id": a.ids["influencer_id"]}},
    "campaigns_contents_list": lambda a, b: {"params": {"influencer_id": a.ids["influencer_id"]}},
}


@pytest.mark.parametrize("operation_id", sorted(CROSS_REFERENCES))
async def test_ids_of_another_workspace_in_bodies_and_queries(operation_id: str, worlds, db: ProcessContext) -> None:  # type: ignore[no-untyped-def]
    client, a, b = worlds
    method, path, operation = OPERATIONS[operation_id]
    url = path.format(**{name: b.ids[name] for name in _path_parameters(operation)})  # B's own path resources
    before = await dump(db)
    response = await client.request(method.upper(), url, headers=b.tenant.write, **CROSS_REFERENCES[operation_id](a, b))
    changes = diff(before, await dump(db))
    if method == "get":
        assert response.status_code == 200, response.text
        leaked = [item for item in response.json()["data"] if _mentions(item, a)]
        assert not leaked, f"{operation_id} listed A's resources to B: {leaked}"
    else:
        assert response.status_code in {404, 422}, f"{operation_id}: {response.status_code} {response.text}"
    assert not changes, f"{operation_id} with A's ids changed data:\n" + "\n".join(changes)


def _mentions(item: dict[str, Any], a: World) -> bool:
    ids = set(a.ids.values()) | set(a.extra.values())
    return any(str(value) in ids for value in item.values())
