"""The committed contract is what the app serves, and it is complete enough to build a frontend on."""

from __future__ import annotations

import json
from pathlib import Path

from loupe.app import create_app
from tests.contract.support import PUBLIC_OPERATIONS as PUBLIC

CONTRACT = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
# Either credential: an API key, or a person's access token (as a bearer token, from the password grant at
# /docs, or its cookie).
CREDENTIALS = [{"ApiKey": []}, {"AccessToken": []}, {"SignIn": []}, {"AccessCookie": []}]


def _served() -> dict:  # type: ignore[type-arg]
    return create_app().openapi()


def test_committed_contract_matches_the_app() -> None:
    committed = json.loads(CONTRACT.read_text())
    assert committed == _served(), "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_is_documented() -> None:
    spec = _served()
    seen: set[str] = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), where
            assert op["operationId"] not in seen, f"duplicate operation id at {where}"
            seen.add(op["operationId"])
            assert op.get("tags"), where
            assert op.get("summary"), where
            if path.startswith("/v1/") and op["operationId"] not in PUBLIC:
                assert op.get("security") == CREDENTIALS, where
                assert {"401", "403"} <= set(op["responses"]), where
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    assert response["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, where


def test_redirect_and_internal_routes_stay_out_of_the_contract() -> None:
    paths = _served()["paths"]
    assert "/metrics" not in paths
    assert not any(p.startswith("/l/") for p in paths)
    assert not any(p.startswith("/_sandbox") for p in paths)
