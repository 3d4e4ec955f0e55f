from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from loupe.kit.context import ProcessContext
from tests.conftest import Tenant
from tests.contract.fuzzing import Fuzz
from tests.contract.support import BASE_URL, Bridge, seed

# The example database is off (fuzzing.CONFIG); Hypothesis still caches what it derives from the source
# code (constants, unicode tables), from collection on: in a temporary folder, not `.hypothesis/` here.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="loupe-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)


@pytest.fixture
async def fuzz(app, tenant: Tenant, db: ProcessContext) -> AsyncIterator[Fuzz]:  # type: ignore[no-untyped-def]
    """A seeded workspace and a client of the app, usable from a synchronous (Hypothesis) test body."""
    # An unhandled exception is answered 500 (and checked as one), not raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        keys = await client.get("/v1/api-keys", params={"limit": 200}, headers=tenant.write)
        world = await seed(client, tenant, db)
        own = [k["id"] for k in keys.json()["data"] if "write" in k["scopes"]]
        assert len(own) == 1, keys.text
        yield Fuzz(Bridge(asyncio.get_running_loop(), client), tenant, db, world, own_key_id=own[0])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One node id per fuzzed operation. Schemathesis names its items `test_contract[GET /v1/...]`, but on
    pytest 9.2 a test item's node id is built from its original name and callspec only, so all of a
    module's items share one id; pytest-xdist then runs one of them and drops the others."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is None or "[" in item.nodeid:
            continue
        node_id = getattr(item, "_id", None)
        if node_id is not None and hasattr(node_id, "with_params"):
            item._id = item.parent.id.child(item.originalname).with_params(label)  # type: ignore[union-attr]
        else:  # older pytest: a plain string
            item._nodeid = f"{item.parent.nodeid}::{item.name}"  # type: ignore[union-attr]
