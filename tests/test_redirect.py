"""The redirect's link rules, end to end: request → buffer (Redis stream) → flush → PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from loupe.clicks.enrich import enrich
from loupe.clicks.events import CLICK, RawClick
from loupe.clicks.visitor import visitor_hash
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks_support import BROWSER, DESKTOP, flush, make_link, redirect_client, sql
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


async def test_visitor_hash_is_salted_per_day_and_keyed_by_the_secret() -> None:
    today, tomorrow = date(2026, 11, 22), date(2026, 11, 23)
    ip, agent = "81.2.69.160", BROWSER
    assert visitor_hash("k", today, ip, agent) == visitor_hash("k", today, ip, agent)
    assert visitor_hash("k", today, ip, agent) != visitor_hash("k", tomorrow, ip, agent)
    assert visitor_hash("k", today, ip, agent) != visitor_hash("other-key", today, ip, agent)
    assert visitor_hash("k", today, ip, agent) != visitor_hash("k", today, "81.2.69.161", agent)
    assert ip not in visitor_hash("k", today, ip, agent) and len(visitor_hash("k", today, ip, agent)) == 32
    # The flush salts with the click's own UTC day, so one visitor just before and after midnight differs.
    late = RawClick("a" * 32, 1795391999_000000, CLICK, "c", "l", "w", ip, agent, "", False)  # 2026-11-22 23:59:59
    early = RawClick("b" * 32, 1795392001_000000, CLICK, "c", "l", "w", ip, agent, "", False)
    assert late.at.date() != early.at.date()
    assert enrich(late, "k").visitor_hash != enrich(early, "k").visitor_hash


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
