from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from loupe.connectors import PlatformsConfig, TokenSet
from loupe.connectors.models import utcnow

SECRET = "app-secret-xyz"


@pytest.fixture
def config() -> PlatformsConfig:
    """Real hosts, test credentials."""
    base = PlatformsConfig()
    update = {}
    for name in PlatformsConfig.model_fields:
        cfg = getattr(base, name)
        update[name] = cfg.model_copy(update={"client_id": f"id-{name}", "client_secret": SecretStr(SECRET)})
    return PlatformsConfig(**update)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def token(value: str = "tok-access-123", refresh: str | None = None, **kw) -> TokenSet:
    kw.setdefault("expires_at", utcnow() + timedelta(hours=1))
    return TokenSet(access_token=value, refresh_token=refresh, **kw)
