"""The per-platform limiter on the real Redis: several workers (each with its own connection) share one window,
no window ever holds more than its limit, callers are served in the order they asked, waits are bounded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from loupe.config import RateLimitRule, RateLimitSettings, Settings
from loupe.connectors import ErrorKind
from loupe.kit.ratelimit import LimitedTransport, RateLimited, RateLimiter, limited_client, limiter_for


@pytest.fixture
async def connections(redis_url: str) -> AsyncIterator[list[Redis]]:
    clients = [Redis.from_url(redis_url) for _ in range(2)]  # two workers: two separate connections
    yield clients
    for client in clients:
        await client.aclose()


def limiter(redis: Redis, prefix: str, limit: int, seconds: float, max_wait: float = 30.0) -> RateLimiter:
    rules = {"tiktok": RateLimitRule(limit=limit, seconds=seconds, per_endpoint=True)}
    return RateLimiter(redis, rules, max_wait=max_wait, margin=0.0, prefix=prefix)


def most_in_any_window(moments: list[float], seconds: float) -> int:
    """The largest number of moments inside one half-open window (t - seconds, t] (moments come rounded to
    the microsecond: a microsecond of slack)."""
    moments, seconds = sorted(moments), seconds - 1e-6
    best, start = 0, 0
    for end, moment in enumerate(moments):
        while moments[start] <= moment - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_workers_never_exceed_the_limit_in_any_window(connections: list[Redis]) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    limit, seconds = 5, 0.4
    workers = [limiter(redis, prefix, limit, seconds) for redis in connections]

    async def take(worker: RateLimiter) -> float:
        return (await worker.acquire("tiktok", "/v2/video/list/")).at

    # 24 callers interleaved over the two workers, all asking at once: 5 go now, the others wait their turn.
    moments = await asyncio.gather(*(take(workers[n % 2]) for n in range(24)))
    assert len(moments) == 24
    assert most_in_any_window(moments, seconds) <= limit
    # Tight packing: every window-sized stretch is used to the full (5 now, 5 one window later, …).
    assert sorted(moments)[limit] - sorted(moments)[0] == pytest.approx(seconds, abs=0.05)
    key = f"{prefix}tiktok:/v2/video/list/"
    assert await connections[0].zcard(key) == 24 and 0 < await connections[1].pttl(key) <= 2_500  # it expires


async def test_concurrent_reservations_are_atomic(connections: list[Redis]) -> None:
    """Reservations only (no sleeping): 200 asks from two connections, the grants still respect the window."""
    prefix = f"test:{uuid.uuid4().hex}:"
    limit, seconds = 7, 60.0
    workers = [limiter(redis, prefix, limit, seconds, max_wait=3600) for redis in connections]
    permits = await asyncio.gather(*(workers[n % 2].reserve("tiktok", "/x") for n in range(200)))
    assert all(p.granted for p in permits)
    moments = [p.at for p in permits]
    assert most_in_any_window(moments, seconds) == limit
    # 200 calls at 7 a minute: the last one lands in the 29th minute, not earlier.
    assert max(moments) - min(moments) >= (200 // limit) * seconds - 1


async def test_callers_are_served_in_the_order_they_asked(connections: list[Redis]) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = (limiter(redis, prefix, 3, 30.0, max_wait=10 * 60) for redis in connections)
    moments = []
    for n in range(12):  # one after the other, alternating workers
        moments.append((await (first if n % 2 else second).reserve("tiktok", "/x")).at)
    assert moments == sorted(moments)
    assert [round(m - moments[0]) for m in moments[::3]] == [0, 30, 60, 90]


async def test_a_wait_beyond_the_bound_is_refused_and_costs_nothing(connections: list[Redis]) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    worker = limiter(connections[0], prefix, 3, 60.0, max_wait=5.0)
    for _ in range(3):
        assert (await worker.acquire("tiktok", "/v2/user/info/")).wait == pytest.approx(0, abs=0.01)
    with pytest.raises(RateLimited) as refused:
        await worker.acquire("tiktok", "/v2/user/info/")
    assert refused.value.kind is ErrorKind.RATE_LIMITED and refused.value.platform == "tiktok"
    assert refused.value.retry_after is not None and 50 < refused.value.retry_after <= 60
    assert await connections[0].zcard(f"{prefix}tiktok:/v2/user/info/") == 3  # the refusal reserved nothing
    # TikTok counts each endpoint on its own: another endpoint still has its whole budget.
    assert (await worker.acquire("tiktok", "/v2/video/list/")).granted


async def test_every_http_request_takes_a_permit(connections: list[Redis]) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    rules = {"twitch": RateLimitRule(limit=4, seconds=60)}
    worker = RateLimiter(connections[0], rules, max_wait=1.0, margin=0.0, prefix=prefix)
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": 1}))
    transport = LimitedTransport(inner, worker, "twitch")
    client = limited_client(transport, httpx.Timeout(5.0))
    for path in ("/helix/users", "/helix/videos", "/helix/videos", "/helix/channels/followers"):
        assert (await client.get(f"https://api.twitch.tv{path}")).json() == {"ok": 1}
    with pytest.raises(RateLimited):
        await client.get("https://api.twitch.tv/helix/users")
    assert transport.calls == 4
    assert await connections[0].zcard(f"{prefix}twitch") == 4
    await client.aclose()


async def test_settings_and_switch(connections: list[Redis]) -> None:
    settings = Settings(rate_limits=RateLimitSettings(enabled=False))
    assert limiter_for(connections[0], settings.rate_limits) is None
    defaults = RateLimitSettings()
    assert defaults.rules["tiktok"].limit == 600 and defaults.rules["tiktok"].per_endpoint
    made = limiter_for(connections[0], defaults)
    assert made is not None and made.key("tiktok", "/v2/video/list/") == "tiktok:/v2/video/list/"
    assert made.key("instagram", "/v23.0/me") == "instagram" and made.key("unknown") is None
