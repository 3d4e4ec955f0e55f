"""Alembic environment (async). The URL comes from `loupe migrate`, or from the settings."""

from __future__ import annotations

import asyncio
import re

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import loupe.models  # noqa: F401  (registers every table on the metadata)
from loupe.clicks.models import PARTITION_TABLES
from loupe.kit.db import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    from loupe.config import get_settings
    from loupe.runtime import normalize_database_url

    settings = get_settings()
    if settings.database_url is None:
        raise RuntimeError("Set LOUPE_DATABASE_URL, or run migrations with `loupe migrate`.")
    return normalize_database_url(settings.database_url.get_secret_value())


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # Partitions of `clicks` are made by migrations and a cron job, not declared as models.
    return not (type_ == "table" and name is not None and re.match(PARTITION_TABLES, name))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_include_name,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())
