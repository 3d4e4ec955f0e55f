"""`loupe tokens rotate`: every stored platform token re-encrypted under the first key of LOUPE_TOKEN_KEYS,
in batches, each batch its own transaction (a stopped run is resumed by running it again)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker

from loupe.connections.repository import TOKEN_FIELDS, ConnectionRepository
from loupe.kit.db import create_engine, create_sessionmaker
from loupe.kit.vault import TokenVault

BATCH = 500


async def rotate_tokens(database_url: str, vault: TokenVault) -> int:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    sessions: async_sessionmaker = create_sessionmaker(engine)  # type: ignore[type-arg]
    rotated, after = 0, None
    try:
        while True:
            async with sessions() as session, session.begin():
                repo = ConnectionRepository(session)
                rows = await repo.encrypted_batch(after, BATCH)
                for row in rows:
                    values = {
                        field: vault.rotate(value) if (value := getattr(row, field)) else None for field in TOKEN_FIELDS
                    }
                    await repo.store_encrypted(row.id, values)
                rotated += len(rows)
            if len(rows) < BATCH:
                return rotated
            after = uuid.UUID(str(rows[-1].id))
    finally:
        await engine.dispose()
