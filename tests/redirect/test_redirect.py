"""The redirect's link rules, end to end: request → buffer (Redis stream) → flush → PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from loupe.clicks.events import CLICK, RawClick
from loupe.clicks.visitor import visitor_hash
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.support import BROWSER, DESKTOP, flush, make_link, redirect_client, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


async def test_302_appends_utm_and_click_id_and_keeps_the_destination_query(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    link = await make_link(
        db,
        tenant.workspace_id,
        destination="https://shop.example/spring/?ref=abc&utm_source=old&q=a%20b#reviews",
        utm_source="instagram",
        utm_campaign="spring launch",
    )
    async with redirect_client(settings, db) as client:
        response = await client.get(
            f"/l/{link['code']}", headers={"user-agent": BROWSER, "referer": "https://www.instagram.com/p/1"}
        )
    assert response.status_code == 302
    assert response.headers["cache-control"] == "no-store"
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example", "/spring/")
    assert location.fragment == "reviews"
    query = parse_qsl(location.query)
    assert query[:2] == [("ref", "abc"), ("q", "a b")]  # the destination's own query, in order
    params = dict(query)
    assert [k for k, _ in query].count("utm_source") == 1 and params["utm_source"] == "instagram"
    assert params["utm_campaign"] == "spring launch"
    click_id = params["lp_click"]

    stats = await flush(db, settings, redis_url)
    assert stats.clicks == 1
    [row] = await sql(db, "SELECT * FROM clicks")
    assert row["id"].hex == click_id and str(row["link_id"]) == link["id"]
    assert str(row["workspace_id"]) == tenant.workspace_id
    assert (row["device"], row["os"], row["browser"]) == ("mobile", "iOS", "Mobile Safari")
    assert row["referrer_host"] == "instagram.com" and row["bot"] is False and row["unique_visitor"] is True
    assert "203.0.113.9" not in str(dict(row))  # no raw IP in PostgreSQL


async def test_archived_link_answers_410_at_once_and_records_nothing(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        assert (await client.get(f"/l/{link['code']}")).status_code == 302
        cache = client.app.state.redirect.state.links  # type: ignore[attr-defined]
        assert cache.cached(link["code"])
        await sql(db, "UPDATE tracking_links SET archived_at = now() WHERE id = :id", id=link["id"])
        # Wait for the notification without visiting: no click races the archive (the delay itself is
        # test_archive_and_edit_reach_every_replica_within_a_second's business).
        deadline = time.monotonic() + 5
        while cache.cached(link["code"]):
            assert time.monotonic() < deadline, "the archive was never notified"
            await asyncio.sleep(0.01)
        response = await client.get(f"/l/{link['code']}")
        assert response.status_code == 410, response.status_code  # at once: not one more redirect
        assert "archived" in response.text and response.headers["content-type"].startswith("text/html")
        assert (await client.head(f"/l/{link['code']}")).status_code == 410
    await flush(db, settings, redis_url)
    assert len(await sql(db, "SELECT id FROM clicks WHERE link_id = :id", id=link["id"])) == 1  # a 410 records nothing


async def test_unknown_code_is_a_404_page_and_an_orphan_visit(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    async with redirect_client(settings, db) as client:
        response = await client.get("/l/nope-404", headers={"user-agent": DESKTOP})
        odd = await client.get("/l/%E2%9C%93")
    assert response.status_code == 404 and "not found" in response.text.lower()
    assert odd.status_code == 404
    await flush(db, settings, redis_url)
    rows = await sql(db, "SELECT code, device, bot FROM orphan_visits ORDER BY visited_at")
    assert (rows[0]["code"], rows[0]["device"], rows[0]["bot"]) == ("nope-404", "desktop", False)
    assert len(rows) == 2
    assert await sql(db, "SELECT id FROM clicks") == []


@pytest.mark.parametrize(
    ("method", "agent", "reason"),
    [
        ("HEAD", BROWSER, "head"),
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"),
        ("GET", "Twitterbot/1.0", "preview"),
        ("GET", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "preview"),
        ("GET", "WhatsApp/2.23.20.0 A", "preview"),
        ("GET", "TelegramBot (like TwitterBot)", "preview"),
        ("GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "preview"),
        ("GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler"),
        ("GET", "", "no_user_agent"),
        ("GET", DESKTOP, None),
    ],
)
async def test_bots_are_redirected_and_recorded_apart(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant, method: str, agent: str, reason: str | None
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        response = await client.request(method, f"/l/{link['code']}", headers={"user-agent": agent})
    assert response.status_code == 302 and response.content == b""
    await flush(db, settings, redis_url)
    [row] = await sql(db, "SELECT bot, bot_reason, unique_visitor, device FROM clicks")
    assert (row["bot"], row["bot_reason"]) == (reason is not None, reason)
    assert row["unique_visitor"] is (reason is None)  # bots never count as unique visitors
    assert (row["device"] == "bot") is (reason is not None)


async def test_the_redirect_compiles_the_crawler_lists_as_it_opens_not_in_a_replay_on_its_loop(
    settings: Settings, db: ProcessContext, tenant: Tenant
) -> None:
    # Compiled lazily, they took a replay of the spool (which enriches on the redirect's event loop)
    # 300-400 ms on a busy core: every visitor waited that long.
    from crawlerdetect import crawlerdetect

    from loupe.clicks import bots

    compiled = (crawlerdetect.get_compiled_crawler_regex, crawlerdetect.get_compiled_exclusions_regex)
    for cached in (*compiled, bots._crawlers, bots.bot_reason):  # as in a new process
        cached.cache_clear()
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        assert (await client.get(f"/l/{link['code']}", headers={"user-agent": BROWSER})).status_code == 302
        assert [cached.cache_info().currsize for cached in compiled] == [1, 1]


async def test_unique_visitor_is_the_first_click_of_that_visitor_on_that_link_that_day(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    first, second = await make_link(db, tenant.workspace_id), await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        for code, agent in [(first, BROWSER), (first, BROWSER), (first, DESKTOP), (second, BROWSER)]:
            assert (await client.get(f"/l/{code['code']}", headers={"user-agent": agent})).status_code == 302
        await flush(db, settings, redis_url)
        assert (await client.get(f"/l/{first['code']}", headers={"user-agent": BROWSER})).status_code == 302
    await flush(db, settings, redis_url)  # a later batch: the visitor is still known
    rows = await sql(db, "SELECT link_id, unique_visitor FROM clicks ORDER BY clicked_at")
    assert [r["unique_visitor"] for r in rows] == [True, False, True, True, False]
    assert len({r["link_id"] for r in rows}) == 2


async def test_visitor_hash_depends_on_the_salt_and_the_visitor() -> None:
    salt, other_salt = b"s" * 32, b"t" * 32
    ip, agent = "81.2.69.160", BROWSER
    assert visitor_hash(salt, ip, agent) == visitor_hash(salt, ip, agent)
    assert visitor_hash(salt, ip, agent) != visitor_hash(other_salt, ip, agent)
    assert visitor_hash(salt, ip, agent) != visitor_hash(salt, "81.2.69.161", agent)
    assert visitor_hash(salt, ip, agent) != visitor_hash(salt, ip, agent + " x")
    assert ip not in visitor_hash(salt, ip, agent) and len(visitor_hash(salt, ip, agent)) == 32


async def test_each_day_has_its_own_random_salt_forgotten_once_the_day_is_over(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    """The same visitor hashes alike all day (uniques), differently the next day, and once the day's
    salt is deleted nothing (not even the secret key) ties a stored hash back to the visitor."""
    from loupe.clicks.jobs import maintain_clicks
    from loupe.clicks.pg import engine_transaction
    from loupe.clicks.store import store_raw

    link = await make_link(db, tenant.workspace_id)
    ip = "81.2.69.160"
    now = datetime.now(UTC)
    late = int((now - timedelta(days=3)).replace(hour=23, minute=59, second=59).timestamp() * 1_000_000)

    def raw(click_id: str, at_us: int) -> RawClick:
        return RawClick(click_id, at_us, CLICK, link["code"], link["id"], tenant.workspace_id, ip, BROWSER, "", False)

    async with engine_transaction(db.engine)() as conn:
        await store_raw(conn, [raw("a" * 32, late), raw("b" * 32, late + 1_000), raw("c" * 32, late + 2_000_000)])
    rows = await sql(db, "SELECT id, visitor_hash, unique_visitor FROM clicks ORDER BY clicked_at")
    assert rows[0]["visitor_hash"] == rows[1]["visitor_hash"]  # same day, same salt
    assert [r["unique_visitor"] for r in rows] == [True, False, True]  # after midnight: new day, new salt
    assert rows[2]["visitor_hash"] != rows[0]["visitor_hash"]
    salts = await sql(db, "SELECT day, salt FROM visitor_salts ORDER BY day")
    assert len(salts) == 2 and len({bytes(s["salt"]) for s in salts}) == 2
    assert visitor_hash(bytes(salts[0]["salt"]), ip, BROWSER) == rows[0]["visitor_hash"]

    # Not derivable from the secret key: a second server with the same key but a fresh day row differs.
    await sql(db, "DELETE FROM visitor_salts")
    async with engine_transaction(db.engine)() as conn:
        await store_raw(conn, [raw("d" * 32, late + 2_000)])
    again = await sql(db, "SELECT visitor_hash FROM clicks WHERE id = CAST(:id AS uuid)", id="d" * 32)
    assert again[0]["visitor_hash"] != rows[0]["visitor_hash"]

    async with engine_transaction(db.engine)() as conn:
        await store_raw(conn, [raw("e" * 32, int(now.timestamp() * 1_000_000))])
    result = await maintain_clicks({"process": db})
    assert result["salts_dropped"] == 1
    assert [s["day"] for s in await sql(db, "SELECT day FROM visitor_salts")] == [now.date()]


@pytest.mark.parametrize(("header", "expected"), [(None, None), ("X-Forwarded-For", "GB")])
async def test_country_uses_the_proxy_header_only_when_configured(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant, header: str | None, expected: str | None
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db, trusted_proxy_header=header) as client:
        # A spoofed entry first, then the one our proxy appended: only the last hop is trusted.
        forwarded = {"x-forwarded-for": "8.8.8.8, 81.2.69.160"}
        assert (await client.get(f"/l/{link['code']}", headers=forwarded)).status_code == 302
    await flush(db, settings, redis_url)
    [row] = await sql(db, "SELECT country FROM clicks")
    assert row["country"] == expected  # without the setting: the peer, a documentation address, no country


async def test_archive_and_edit_reach_every_replica_within_a_second(
    settings: Settings, db: ProcessContext, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id, destination="https://one.example/")
    async with redirect_client(settings, db) as a, redirect_client(settings, db) as b:
        for replica in (a, b):
            assert (await replica.get(f"/l/{link['code']}")).headers["location"].startswith("https://one.example/")
        redirect_a = a.app.state.redirect  # type: ignore[attr-defined]
        lookups = redirect_a.state.links.lookups
        for _ in range(20):
            await a.get(f"/l/{link['code']}")
        assert redirect_a.state.links.lookups == lookups  # served from the cache: no database round trip

        await sql(db, "UPDATE tracking_links SET destination = 'https://two.example/x' WHERE id = :id", id=link["id"])
        await _within_a_second(
            a, b, link["code"], lambda r: r.headers.get("location", "").startswith("https://two.example/x?")
        )
        await sql(db, "UPDATE tracking_links SET archived_at = now() WHERE id = :id", id=link["id"])
        await _within_a_second(a, b, link["code"], lambda r: r.status_code == 410)


async def test_cache_falls_back_to_a_short_ttl_when_not_listening(
    settings: Settings, db: ProcessContext, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        assert (await client.get(f"/l/{link['code']}")).status_code == 302
        cache = client.app.state.redirect.state.links  # type: ignore[attr-defined]
        await cache.close()  # the listener is gone: no notifications from now on
        cache.listening = False
        await sql(db, "UPDATE tracking_links SET archived_at = now() WHERE id = :id", id=link["id"])
        await _within_a_second(client, client, link["code"], lambda r: r.status_code == 410)


async def _within_a_second(a, b, code, done) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    pending = {id(a): a, id(b): b}
    while pending:
        for key, replica in list(pending.items()):
            if done(await replica.get(f"/l/{code}")):
                del pending[key]
        assert time.monotonic() - started < 1.0, "a replica still serves the old link after one second"
        await asyncio.sleep(0.01)


async def test_redirect_is_not_in_the_openapi_contract(settings: Settings, db: ProcessContext) -> None:
    async with redirect_client(settings, db) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert not any(path.startswith("/l") for path in paths)


async def test_metrics_count_the_redirects_by_status(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    import re

    def redirects(text: str) -> dict[str, float]:
        return {s: float(v) for s, v in re.findall(r'^loupe_redirects_total\{status="(\d+)"\} (\S+)$', text, re.M)}

    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        before = redirects((await client.get("/metrics")).text)
        assert set(before) == {"302", "404", "410", "429", "503"}  # every status shown, even at 0
        assert (await client.get(f"/l/{link['code']}")).status_code == 302
        assert (await client.head(f"/l/{link['code']}")).status_code == 302
        assert (await client.get("/l/nope-metrics")).status_code == 404
        after = redirects((await client.get("/metrics")).text)
    assert {s: after[s] - before[s] for s in before} == {"302": 2, "404": 1, "410": 0, "429": 0, "503": 0}
    await flush(db, settings, redis_url)
