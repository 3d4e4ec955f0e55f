"""What counts as an outage (wait and retry, answer 503) and what is a bug (raise, answer 500): from the
errors real clients raise against a port where nothing listens."""

from __future__ import annotations

import httpx
from redis.exceptions import WatchError
from sqlalchemy import text

from loupe.kit.db import create_engine
from loupe.kit.embedded import free_port
from loupe.kit.jobs import create_job_pool
from loupe.kit.outages import Backoff, outage_of


async def _raised(awaitable: object) -> BaseException:
    try:
        await awaitable  # type: ignore[misc]
    except BaseException as exc:
        return exc
    raise AssertionError("nothing raised")


async def test_unreachable_servers_are_outages_of_their_dependency() -> None:
    engine = create_engine(f"postgresql+asyncpg://loupe@127.0.0.1:{free_port()}/loupe")

    async def query() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    assert outage_of(await _raised(query())) == "database"
    await engine.dispose()
    redis = await create_job_pool(f"redis://127.0.0.1:{free_port()}/0")
    lost = await _raised(redis.ping())
    assert outage_of(lost) == "redis"
    await redis.aclose()
    try:  # redis-py raises a WatchError while handling a connection lost during WATCH
        raise WatchError("A ConnectionError occurred on while watching one or more keys") from None
    except WatchError as exc:
        exc.__context__ = lost
        assert outage_of(exc) == "redis"


async def test_bugs_and_unreachable_platforms_are_not_outages() -> None:
    async with httpx.AsyncClient() as client:
        platform_down = await _raised(client.get(f"http://127.0.0.1:{free_port()}/"))
    assert outage_of(platform_down) is None  # a platform's trouble: its connector's to handle
    assert outage_of(ValueError("bad input")) is None
    assert outage_of(KeyError("bug")) is None


def test_backoff_grows_to_its_cap_with_jitter_and_starts_over() -> None:
    backoff = Backoff(first=0.25, cap=2)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.25, 0.5, 1, 2, 2, 2, 2, 2]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) > 1
    backoff.reset()
    assert backoff.next_delay() <= 0.25
