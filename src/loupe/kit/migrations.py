"""Run alembic from code (`loupe migrate`, tests, `loupe dev`)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMA_BEHIND = "The database schema is behind the code: run `loupe migrate` first."


class SchemaBehind(RuntimeError):
    """A restart cannot fix it: the process exits with this sentence (api and worker alike)."""


def migrations_dir() -> Path:
    candidates = [
        os.environ.get("LOUPE_MIGRATIONS_DIR"),
        Path(__file__).resolve().parents[3] / "migrations",  # source checkout
        Path.cwd() / "migrations",  # container image: WORKDIR holds migrations/
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "env.py").exists():
            return Path(candidate)
    raise FileNotFoundError("migrations/ not found; set LOUPE_MIGRATIONS_DIR")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raises when the models and the migrations disagree."""
    command.check(alembic_config(database_url))


def current_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def schema_is_current(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        except ProgrammingError:  # no alembic_version: never migrated
            return False
    return set(rows) == current_heads()
