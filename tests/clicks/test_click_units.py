"""Smaller pieces of the click path: Location building, client address, spool, partitions, the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest

from loupe.clicks.partitions import ensure_partitions, month_start, partition_name
from loupe.clicks.pg import engine_transaction
from loupe.clicks.spool import Spool
from loupe.config import Settings
from loupe.kit.addresses import client_ip
from loupe.kit.context import ProcessContext
from loupe.kit.embedded import free_port
from loupe.redirect.destination import split_location
from tests.clicks.support import insert_click, make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("destination", "utm", "expected"),
    [
        ("https://a.example", {}, "https://a.example/?lp_click=ID"),
        ("https://a.example/p?x=1&lp_click=old", {}, "https://a.example/p?x=1&lp_click=ID"),
        ("https://a.example/p?x=1#f", {"utm_source": "ig"}, "https://a.example/p?x=1&utm_source=ig&lp_click=ID#f"),
        ("https://a.example/p?a+b=1&utm_medium=x", {"utm_medium": "social"}, "https://a.example/p?a+b=1&utm_medium=social&lp_click=ID"),
        ("https://a.example/caf\u00e9?q=\u00e9", {}, "https://a.example/caf%C3%A9?q=%C3%A9&lp_click=ID"),
        ("http://a.example/p?flag", {"utm_term": None}, "http://a.example/p?flag&lp_click=ID"),
    ],
)  # fmt: skip
async def test_location_keeps_the_destination_and_appends_ours(destination: str, utm: dict, expected: str) -> None:  # type: ignore[type-arg]
    prefix, suffix = split_location(destination, utm)  # type: ignore[misc]
    assert f"{prefix}ID{suffix}" == expected


async def test_click_time_survives_the_wire_to_the_microsecond() -> None:
    from datetime import UTC, datetime

    from loupe.clicks.events import CLICK, RawClick, decode_batch, encode_batch

    click = RawClick("a" * 32, 1795391999_999999, CLICK, "c", None, None, "", "", "", False)
    [back] = decode_batch(encode_batch([click.wire()]))
    assert back.at == datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=UTC) == click.at


async def test_ids_on_the_wire_are_stored_as_canonical_hex_and_bad_ones_are_left_out() -> None:
    from loupe.clicks.events import CLICK, decode_batch, encode_batch

    canonical, spelled = "0f" * 16, "0F0F0F0F-0F0F-0F0F-0F0F-0F0F0F0F0F0F"
    item = ["", 1, CLICK, "c", None, None, "", "", "", 0]
    items = [[canonical, *item[1:]], [spelled, *item[1:]], ["0f" * 15 + "zz", *item[1:]], ["0f" * 17, *item[1:]]]
    assert [click.id for click in decode_batch(encode_batch(items))] == [canonical, canonical]


async def test_click_ids_are_random_version_4_uuids() -> None:
    from loupe.clicks.events import new_click_id

    ids = [new_click_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for click_id in ids:
        parsed = uuid.UUID(hex=click_id)
        assert (parsed.hex, parsed.version, parsed.variant) == (click_id, 4, uuid.RFC_4122)
    # Every other bit is random: over 2000 ids, each one was seen both set and clear.
    values = [int(click_id, 16) for click_id in ids]
    fixed = 0xF000 << 64 | 0xC000 << 48
    assert all(any(v >> bit & 1 for v in values) and not all(v >> bit & 1 for v in values)
               for bit in range(128) if not fixed >> bit & 1)  # fmt: skip


@pytest.mark.parametrize(
    "destination",
    [
        "https://a.example/x\r\nSet-Cookie: a=b",
        "https://a.example/\x00\x0b\x7f?q=<script>\"'",
        "https://a.example/p?x=1 2\u2028\u0085#frag\r\nX: y",
        "https://a.example\r\n.evil/x",
    ],
)
async def test_location_is_one_header_whatever_the_destination_holds(destination: str) -> None:
    prefix, suffix = split_location(destination, {"utm_source": "a\r\nb"})  # type: ignore[misc]
    location = f"{prefix}0123abcd{suffix}"
    assert all(0x21 <= ord(ch) <= 0x7E for ch in location), location  # visible ASCII: no CR, LF, NUL, space
    assert location.startswith("https://a.example") and "lp_click=0123abcd" in location


@pytest.mark.parametrize("destination", ["javascript:alert(1)", "ftp://a.example/f", "//a.example/x", "mailto:a@b.c"])
async def test_only_http_destinations_are_served(destination: str) -> None:
    assert split_location(destination, {}) is None


async def test_client_address_from_the_trusted_header_counts_hops_from_the_right() -> None:
    scope = {"client": ("10.0.0.2", 1234)}
    assert client_ip(scope, None, 1) == "10.0.0.2"
    assert client_ip(scope, b"1.1.1.1, 2.2.2.2, 3.3.3.3", 1) == "3.3.3.3"
    assert client_ip(scope, b"1.1.1.1, 2.2.2.2, 3.3.3.3", 2) == "2.2.2.2"
    assert client_ip(scope, b"6.6.6.6, 2.2.2.2", 3) == "10.0.0.2"  # short: never the client-written left entry
    assert client_ip(scope, b" , ", 1) == "10.0.0.2"


IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
ANDROID_WEBVIEW = (
    "Mozilla/5.0 (Linux; Android 13; SM-S911B; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        # People in the apps' in-app browsers: where creators' audiences click.
        (f"{IPHONE} Snapchat/12.36.0.35 (like Safari/8615.2.9.10.4, panda)", None),
        (f"{ANDROID_WEBVIEW} Snapchat/12.68.0.39 (SM-S911B; Android 13#S911BXXU1AWGH#33; gzip; )", None),
        (f"{ANDROID_WEBVIEW} Viber/21.0.0.0", None),
        (f"{IPHONE} Instagram 307.0.0.34.111 (iPhone14,5; iOS 17_0; en_US; en; scale=3.00; 1170x2532)", None),
        (f"{ANDROID_WEBVIEW} trill_320105 BytedanceWebview/d8a21c6", None),
        (f"{IPHONE} [FBAN/FBIOS;FBAV/440.0.0.35.107;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.0]", None),
        # The same apps fetching a preview card.
        ("Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots)",
         "preview"),
        ("Snapchat/1.0 (Snapchat Proxy)", "preview"),
        ("Viber/20.9.0.8 CFNetwork/1410.0.3 Darwin/22.6.0", "preview"),
    ],
)  # fmt: skip
async def test_in_app_browsers_are_people_and_their_apps_preview_fetchers_are_bots(
    agent: str, reason: str | None
) -> None:
    from loupe.clicks.bots import bot_reason

    assert bot_reason(agent, False) == reason


async def test_spool_replays_every_line_once_and_skips_a_torn_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.append(b'[["a"]]')
    await spool.append(b'[["b"]]')
    assert spool.pending()
    seen: list[bytes] = []

    async def fail(payload: bytes) -> None:
        raise ConnectionError

    with pytest.raises(ConnectionError):
        await spool.replay(fail)
    assert spool.pending()  # kept for the next round

    async def take(payload: bytes) -> None:
        seen.append(payload)

    # A crashed writer leaves a torn last line in its file.
    (tmp_path / "999-dead.active").write_bytes(b'[["c"]]\n[["d"')
    assert await spool.replay(take) == 3
    assert sorted(seen) == [b'[["a"]]', b'[["b"]]', b'[["c"]]']
    assert not spool.pending() and not any(tmp_path.glob("*"))  # noqa: ASYNC240
    spool.close()


async def test_partitions_are_created_ahead_and_take_their_rows_from_the_default(
    db: ProcessContext, tenant: Tenant
) -> None:
    far = date(2031, 5, 1)
    link = await make_link(db, tenant.workspace_id)
    stray = await insert_click(db, link, tenant.workspace_id, "2031-05-17T10:00:00+00:00")
    async with engine_transaction(db.engine)() as conn:
        created = await ensure_partitions(conn, far, months_ahead=1)
    assert created == ["clicks_p203105", "clicks_p203106"]
    rows = await sql(db, "SELECT tableoid::regclass::text AS part, id FROM clicks WHERE id = :id", id=stray)
    assert rows[0]["part"] == "clicks_p203105"
    async with engine_transaction(db.engine)() as conn:
        assert await ensure_partitions(conn, far, months_ahead=1) == []  # idempotent
        for name in created:
            await conn.execute(f"DROP TABLE {name}")
    assert (
        month_start(date(2026, 12, 15), 1) == date(2027, 1, 1) and partition_name(date(2027, 1, 1)) == "clicks_p202701"
    )


async def test_loupe_redirect_runs_alone(
    settings: Settings, db: ProcessContext, tenant: Tenant, tmp_path: Path
) -> None:
    link = await make_link(db, tenant.workspace_id, destination="https://alone.example/")
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "LOUPE_DATABASE_URL": settings.database_url.get_secret_value(),  # type: ignore[union-attr]
        "LOUPE_REDIS_URL": settings.redis_url.get_secret_value(),  # type: ignore[union-attr]
        "LOUPE_DATA_DIR": str(tmp_path),
        "LOUPE_LOG_LEVEL": "WARNING",
        "LOUPE_METRICS_PORT": str(metrics_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "loupe", "redirect", "--port", str(port), env=env
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 60  # a cold start on a loaded 2-core machine takes a while
            while True:
                assert process.returncode is None, "loupe redirect exited"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "loupe redirect never answered /healthz"
                    await asyncio.sleep(0.1)
            response = await client.get(f"/l/{link['code']}")
            assert response.status_code == 302 and response.headers["location"].startswith("https://alone.example/?")
            assert (await client.get(f"/l/{uuid.uuid4().hex}")).status_code == 404
            assert (await client.post(f"/l/{link['code']}")).status_code == 405
            assert (await client.get("/metrics")).status_code == 404  # only on the metrics listener
            metrics = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            assert 'loupe_redirects_total{status="302"} 1.0' in metrics and "loupe_clicks_buffered_total" in metrics
    finally:
        process.terminate()
        # uvicorn shuts down cleanly, then re-raises the signal it caught.
        assert await asyncio.wait_for(process.wait(), 20) in (0, -15)


class _Pool:
    """A stand-in pool: answers one link row, or fails like an unreachable PostgreSQL."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def fetchrow(self, query: str, code: str) -> dict[str, object] | None:
        self.calls += 1
        await asyncio.sleep(0.01)  # a round trip: concurrent callers overlap
        if self.down:
            raise OSError("connection refused")
        if code != "known":
            return None
        utm = dict.fromkeys(("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"))
        return {
            "id": uuid.uuid4(),
            "workspace_id": uuid.uuid4(),
            "destination": "https://a.example/",
            "archived": False,
            **utm,
        }


async def test_link_cache_serves_stale_links_when_postgresql_fails_and_dedupes_lookups() -> None:
    from loupe.redirect.links import LinkCache

    pool = _Pool()
    cache = LinkCache(pool, "postgresql://unused", fallback_ttl=0.0)  # never listening here: every read revalidates
    first, second = await asyncio.gather(cache.get("known"), cache.get("known"))
    assert first is second and first is not None and pool.calls == 1  # concurrent misses share one query
    assert await cache.get("missing") is None
    pool.down = True
    assert await cache.get("known") == first  # PostgreSQL down: the last known answer keeps serving
    with pytest.raises(OSError):
        await cache.get("never-seen")  # the redirect answers 503 for this one


async def test_a_flood_of_unknown_codes_does_not_evict_the_cached_links() -> None:
    from loupe.redirect.links import LinkCache

    pool = _Pool()
    cache = LinkCache(pool, "postgresql://unused", max_entries=10)
    cache.listening = True  # entries trusted for max_age, as with a live LISTEN
    known = await cache.get("known")
    for i in range(50):
        assert await cache.get(f"made-up-{i}") is None
    calls = pool.calls
    assert await cache.get("known") is known and pool.calls == calls  # still cached: no query
    assert cache.cached("made-up-49")  # unknown codes are still cached too, within the bound


async def test_click_buffer_pipe_authenticates_selects_and_spools_what_redis_refuses(tmp_path: Path) -> None:
    """The buffer's own connection against a stand-in Redis: AUTH and SELECT before the first XADD, a reply
    split across reads, and an error reply that sends its batch to the spool (answered, not lost)."""
    from redis.asyncio import Redis

    from loupe.clicks.buffer import ClickBuffer
    from loupe.clicks.events import CLICK, RawClick, decode_batch, new_click_id, now_us

    commands: list[list[bytes]] = []
    refuse = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            args = []
            for _ in range(int(line[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            commands.append(args)
            if args[0].upper() != b"XADD":
                writer.write(b"+OK\r\n")
            elif refuse.is_set():
                writer.write(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n")
            else:
                writer.write(b"$15\r\n17000000")  # the entry id in two reads
                await writer.drain()
                await asyncio.sleep(0.01)
                writer.write(b"00000-0\r\n")
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = Redis.from_url(f"redis://:secret@127.0.0.1:{port}/2")
    spool = Spool(tmp_path)
    buffer = ClickBuffer(redis, "s", spool, timeout=1.0)

    def click() -> RawClick:
        return RawClick(new_click_id(), now_us(), CLICK, "c", None, None, "192.0.2.1", "UA", "", False)

    try:
        sent = [click()]
        await buffer.record(sent[0])  # redis-py carries the first batch while the pipe connects
        for _ in range(200):
            if buffer._pipe is not None:
                break
            await asyncio.sleep(0.01)
        assert buffer._pipe is not None
        before = len(commands)
        batch = [click() for _ in range(3)]
        await asyncio.gather(*(buffer.record(c) for c in batch))
        sent += batch
        xadds = [args for args in commands if args[0] == b"XADD"]
        heads = [args[:2] for args in commands[:before]]
        assert heads.count([b"AUTH", b"secret"]) == heads.count([b"SELECT", b"2"]) == 2  # redis-py's, the pipe's
        assert [args[0] for args in commands[before:]] == [b"XADD"]  # one batch for the three
        assert {c.id for args in xadds for c in decode_batch(args[4])} == {c.id for c in sent}
        assert buffer.spooled == 0
        refuse.set()
        refused = click()
        await asyncio.wait_for(buffer.record(refused), 5)  # answered once spooled
        assert buffer.spooled == 1 and not buffer.redis_healthy
        lines = await asyncio.to_thread(
            lambda: [line for f in tmp_path.glob("*.active") for line in f.read_bytes().splitlines()]
        )
        assert [c.id for line in lines for c in decode_batch(line)] == [refused.id]
    finally:
        await buffer.close()
        spool.close()
        await redis.aclose()
        server.close()


async def test_redirect_counters_show_as_a_plain_counter_would_and_each_count_once() -> None:
    import re
    import threading

    from prometheus_client import CollectorRegistry, Counter, generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    from loupe.clicks.metrics import FastCounter

    plain, fast = CollectorRegistry(), CollectorRegistry()
    counter = Counter("loupe_redirects_total", "Answers of /l/{code}", ["status"], registry=plain)
    fast_counter = FastCounter("loupe_redirects_total", "Answers of /l/{code}", ["status"], registry=fast)
    pairs = [(counter.labels(status), fast_counter.labels(status)) for status in ("302", "404", "410")]

    def same_text() -> None:  # the same exposition but the creation times
        for generate in (generate_latest, generate_openmetrics):
            texts = [re.sub(rb"(_created(\{[^}]*\})?) \S+", rb"\1 T", generate(r)) for r in (plain, fast)]
            assert texts[0] == texts[1]

    same_text()  # every series at 0 from the start
    for times, (a, b) in zip((3, 1, 0), pairs, strict=True):
        for _ in range(times):
            a.inc()
            b.inc()
    same_text()
    assert fast.get_sample_value("loupe_redirects_total", {"status": "302"}) == 3.0

    # Scrapes at once (the metrics listener is threaded) while counting: nothing counted twice or lost.
    scrapes = [threading.Thread(target=generate_latest, args=(fast,)) for _ in range(8)]
    for thread in scrapes:
        thread.start()
    for _ in range(10_000):
        pairs[1][1].inc()
    for thread in scrapes:
        thread.join()
    assert fast.get_sample_value("loupe_redirects_total", {"status": "404"}) == 10_001.0


async def test_country_of_answers_as_geoip2fast_lookup_and_refuses_what_is_not_an_address() -> None:
    import ipaddress
    import random

    from loupe.clicks.geo import _reader, country_of

    def public(ip: str) -> str | None:  # the library's own lookup, for a global address
        code = _reader().lookup(ip).country_code
        return code if ipaddress.ip_address(ip).is_global and len(code) == 2 and code.isalpha() else None

    rng = random.Random(7)
    sample = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(3000)]
    v6 = [(0x2000 + rng.getrandbits(12)) << 112 | rng.getrandbits(100) for _ in range(1000)]
    sample += [str(ipaddress.IPv6Address(number)) for number in v6]
    answers = [country_of(ip) for ip in sample]
    assert answers == [public(ip) for ip in sample]
    assert sum(a is not None for a in answers) > 1000  # mostly answered: the comparison is not of Nones
    assert (country_of("81.2.69.161"), country_of("10.1.2.3"), country_of("2001:db8::1")) == ("GB", None, None)
    for malformed in ("1.2.3", "01.2.3.4", " 81.2.69.161", "81.2.69.161\x00", "", "x", "1.2.3.4.5"):
        assert country_of(malformed) is None, malformed
