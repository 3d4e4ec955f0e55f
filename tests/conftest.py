"""Shared fixtures: real PostgreSQL and Redis (embedded, per test session), a migrated test
database, the app over an in-process ASGI transport, and workspace factories.

Servers start lazily: tests that need no database (connectors, sandbox) never start them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from loupe.config import Environment, Settings
from loupe.kit.context import ProcessContext
from loupe.kit.db import Base
from loupe.kit.embedded import EmbeddedServers
from loupe.kit.migrations import upgrade
from loupe.workspaces.models import Plan, Scope


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServers]:
    """Embedded servers of this test session (each xdist worker has its own, on free ports)."""
    data_dir = Path(tmp_path_factory.mktemp("loupe-data"))
    servers = EmbeddedServers(data_dir).start()
    yield servers
    servers.stop_started()
    if servers.postgres.cluster is not None:
        servers.postgres.destroy()  # as root it lives in /var/lib/loupe, out of reach of pytest's cleanup


@pytest.fixture(scope="session")
def database_url(servers: EmbeddedServers) -> str:
    """A fresh database built by the migrations (never create_all)."""
    import subprocess

    port = servers.postgres.running_port()
    psql = [str(servers.postgres.psql), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
    subprocess.run([*psql, "-c", "DROP DATABASE IF EXISTS loupe_test"], check=True, capture_output=True)
    subprocess.run([*psql, "-c", "CREATE DATABASE loupe_test"], check=True, capture_output=True)
    url = servers.postgres.url(port, "loupe_test")  # type: ignore[arg-type]
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url(servers: EmbeddedServers) -> str:
    return servers.redis_url


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, servers: EmbeddedServers) -> Settings:
    return Settings(
        env=Environment.test,
        data_dir=servers.data_dir,
        database_url=database_url,  # type: ignore[arg-type]
        redis_url=redis_url,
        log_json=True,
        log_level=os.environ.get("LOUPE_TEST_LOG_LEVEL", "WARNING"),
    )


@pytest.fixture(scope="session")
async def process(settings: Settings, database_url: str, redis_url: str) -> AsyncIterator[ProcessContext]:
    ctx = await ProcessContext.create(settings, database_url, redis_url)
    yield ctx
    await ctx.close()


TODAY_UTC = "date_bin('1 day', now(), timestamptz '2000-01-01 00:00:00+00')"


async def _reset(process: ProcessContext, redis_url: str) -> None:
    # DELETE, children first, in one round trip: a test leaves few rows, and TRUNCATE's new files and
    # their fsyncs cost 0.3-0.8 s per test on this machine where this costs under 10 ms.
    tables = [table.name for table in reversed(Base.metadata.sorted_tables) if table.name != "click_rollup_folds"]
    deletes = " ".join(f'DELETE FROM "{name}";' for name in tables)
    fold = f"UPDATE click_rollup_folds SET folded_until = {TODAY_UTC};"  # as the migration leaves it
    async with process.engine.begin() as conn:
        await conn.exec_driver_sql(f"DO $$ BEGIN {deletes} {fold} END $$")
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def db(process: ProcessContext, redis_url: str) -> AsyncIterator[ProcessContext]:
    """Isolation: every test starts from empty tables and an empty Redis."""
    await _reset(process, redis_url)
    yield process


@pytest.fixture(scope="session")
def shared_app(settings: Settings, process: ProcessContext):  # type: ignore[no-untyped-def]
    """Building the api takes about 0.7 s: built once, like a process serving many requests."""
    from loupe.app import create_app

    return create_app(settings, context=process)


@pytest.fixture
def app(shared_app, db: ProcessContext):  # type: ignore[no-untyped-def]
    return shared_app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://loupe.test") as client:
        yield client


@dataclass
class Tenant:
    workspace_id: str
    write_key: str
    read_key: str

    @property
    def write(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.write_key}"}

    @property
    def read(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_key}"}


@pytest.fixture
def make_tenant(db: ProcessContext):  # type: ignore[no-untyped-def]
    """Factory: a workspace with a read/write key and a read-only key."""
    from loupe.workspaces.service import WorkspaceService

    async def make(name: str = "Acme", plan: Plan = Plan.staging) -> Tenant:
        async with db.sessionmaker() as session, session.begin():
            service = WorkspaceService(session)
            workspace, write_key = await service.create_workspace(name, plan)
            _, read_key = await service.create_key(workspace.id, "read only", [Scope.read])
        return Tenant(str(workspace.id), write_key, read_key)

    return make


@dataclass
class Member:
    """A person of a workspace, signed in: their id, email, password and access token."""

    person_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


PASSWORD = "correct horse battery"


@pytest.fixture
def make_member(db: ProcessContext, client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    """Factory: a verified person with `role` in the workspace (made in the database), signed in over HTTP."""
    import uuid

    from loupe.kit.db import utcnow
    from loupe.people.models import Membership, Person, Role
    from loupe.people.passwords import hash_password

    async def make(workspace_id: str, role: str = "member", email: str | None = None) -> Member:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@brand.example"
        async with db.sessionmaker() as session, session.begin():
            person = Person(name=role.title(), email=email, password_hash=await hash_password(PASSWORD))
            person.email_verified_at = utcnow()
            session.add(person)
            await session.flush()
            session.add(Membership(workspace_id=uuid.UUID(workspace_id), person_id=person.id, role=Role(role)))
        body = {"email": email, "password": PASSWORD, "workspace_id": workspace_id}
        login = await client.post("/v1/auth/login", json=body)
        assert login.status_code == 200, login.text
        tokens = login.json()
        return Member(str(person.id), email, PASSWORD, tokens["access_token"], tokens["refresh_token"])

    return make


@pytest.fixture
async def tenant(make_tenant) -> Tenant:  # type: ignore[no-untyped-def]
    return await make_tenant("Acme")  # type: ignore[no-any-return]


async def until_a_lock_is_awaited(db: ProcessContext, unless_done: asyncio.Task[Any] | None = None) -> None:
    """Returns once some transaction waits for a lock (a concurrent request is queued behind an open one):
    races are proven to overlap, not widened with sleeps that pass whether or not they do."""
    async with db.engine.connect() as conn:
        for _ in range(1000):
            if await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
            if unless_done is not None and unless_done.done():
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the concurrent request never waited for the open transaction")
