"""Where the servers are: configured URLs, or the embedded ones of the data folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from loupe.config import Settings
from loupe.kit.embedded import embedded_servers


@contextmanager
def resolve_service_urls(settings: Settings) -> Iterator[tuple[str, str]]:
    """Yields (database_url, redis_url). Unset URLs start (or reuse) the embedded servers
    of `settings.data_dir`; servers started here are stopped on exit."""
    database_url = settings.database_url.get_secret_value() if settings.database_url else None
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    if database_url:
        database_url = normalize_database_url(database_url)
    if database_url and redis_url:
        yield database_url, redis_url
        return
    with embedded_servers(settings.data_dir, postgres=database_url is None, redis=redis_url is None) as servers:
        yield database_url or servers.database_url, redis_url or servers.redis_url


def normalize_database_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs; we always talk through asyncpg."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
