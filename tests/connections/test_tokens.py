"""Tokens at rest: rotation under a new key, the attempts purge, and no token in any answer or log line."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from structlog._config import BoundLoggerLazyProxy

from loupe.config import Settings
from loupe.connections.jobs import purge_connect_attempts
from loupe.connections.models import Connection
from loupe.connections.rotation import rotate_tokens
from loupe.kit.context import ProcessContext
from loupe.kit.logging import configure_logging
from loupe.kit.vault import TokenVault, VaultError, new_key
from loupe.sandbox.state import Sandbox
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account, invite


async def test_rotate_reencrypts_every_token_under_the_first_key(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext, database_url: str
) -> None:
    sent = await invite(client, tenant)
    await creator.connect(sent["token"], "tiktok", account(sandbox, "tiktok").id)  # access + refresh tokens
    async with db.sessionmaker() as session:
        before = (await session.execute(select(Connection))).scalar_one()
    old = db.vault
    rotated_vault = TokenVault([new_key(), *old.keys])
    assert await rotate_tokens(database_url, rotated_vault) == 1
    async with db.sessionmaker() as session:
        after = (await session.execute(select(Connection))).scalar_one()
    newest_only = TokenVault(rotated_vault.keys[:1])
    for field in ("access_token_enc", "refresh_token_enc"):
        assert getattr(before, field) and getattr(after, field) != getattr(before, field)
        assert newest_only.decrypt(getattr(after, field)) == old.decrypt(getattr(before, field))
    with pytest.raises(VaultError):
        newest_only.decrypt(before.access_token_enc or "")


async def test_expired_attempts_are_purged_a_day_later(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    await creator.start(sent["token"], "youtube")
    await creator.start(sent["token"], "twitch")
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE connect_attempts SET expires_at = now() - interval '2 days' WHERE platform = 'youtube'")
        )
    assert await purge_connect_attempts({"process": db}) == {"purged": 1}
    async with db.engine.connect() as conn:
        left = (await conn.execute(text("SELECT platform FROM connect_attempts"))).scalars().all()
    assert left == ["twitch"]


async def test_no_token_in_answers_or_logs(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
) -> None:
    configure_logging("DEBUG", json=True)  # every line our code and the libraries write, to the captured stream
    forget_cached_loggers()
    try:
        await _connect_and_check(client, tenant, creator, sandbox, capsys)
    finally:
        configure_logging(settings.log_level, json=True)
        forget_cached_loggers()


def forget_cached_loggers() -> None:
    """structlog binds each module's logger (level and stream) on first use; forget those bindings so the
    configuration above applies to loggers that other tests already used."""
    for name, module in list(sys.modules.items()):
        if name.startswith("loupe"):
            for value in vars(module).values():
                if isinstance(value, BoundLoggerLazyProxy):
                    vars(value).pop("bind", None)


async def _connect_and_check(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = await invite(client, tenant)
    answers: list[Any] = []
    for platform in ("instagram", "tiktok", "youtube"):
        done = await creator.connect(sent["token"], platform, account(sandbox, platform, creator=5).id)
        answers.append(done.text)
    listing = await client.get("/v1/connected-accounts", headers=tenant.read)
    one = await client.get(f"/v1/connected-accounts/{listing.json()['data'][0]['id']}", headers=tenant.read)
    answers += [listing.text, one.text]
    secrets = [t.value for t in sandbox.tokens.tokens.values() if t.account_id in _ids(sandbox)]
    secrets += [c.value for c in getattr(sandbox.tokens, "codes", {}).values()]
    assert len(secrets) >= 3
    logged = "".join(capsys.readouterr())
    assert "connect.connected" in logged and "/connect/callback/" in logged  # the flow was logged, as templates
    for secret in secrets:
        assert all(secret not in answer for answer in answers)
        assert secret not in logged
    assert sent["token"] not in logged  # the invite link's secret is a credential too


def _ids(sandbox: Sandbox) -> set[str]:
    person = sandbox.world.creators[5]
    return {a.id for accounts in person.accounts.values() for a in accounts} | {person.fb_user_id}
