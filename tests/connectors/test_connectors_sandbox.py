"""End to end: every connector against the platform sandbox over real HTTP (uvicorn on loopback).

Drives the OAuth code flow through the sandbox's HTML authorize page exactly as a browser would:
GET the page, POST the form (account + decision), follow the 302 to our redirect_uri, parse it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
import uvicorn

from loupe.connectors import (
    Connector,
    ConnectorError,
    ContentType,
    ErrorKind,
    PlatformsConfig,
    TokenSet,
    get_connector,
)
from loupe.sandbox import create_app

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: we read the 302's Location


class AuthorizeForm(HTMLParser):
    """The sandbox authorize page: form action, hidden fields, account radios, scope checkboxes."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.accounts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: unescape(v or "") for k, v in attrs}
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "radio" and a.get("name") == "account":
            self.accounts.append(a.get("value", ""))
        elif (
            tag == "input"
            and a.get("type") in ("hidden", "checkbox")
            and "checked" in a | ({"checked": ""} if a.get("type") == "hidden" else {})
        ):
            self.fields.append((a.get("name", ""), a.get("value", "")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(seed=42),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("sandbox did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def config(sandbox_url: str) -> PlatformsConfig:
    return PlatformsConfig.for_sandbox(sandbox_url)


@pytest.fixture
async def admin(http: httpx.AsyncClient, sandbox_url: str) -> AsyncIterator[Any]:
    class Admin:
        async def accounts(self) -> dict[str, list[dict[str, Any]]]:
            return (await http.get(f"{sandbox_url}/_sandbox/accounts")).json()

        async def fault(self, **body: Any) -> None:
            (await http.post(f"{sandbox_url}/_sandbox/faults", json=body)).raise_for_status()

        async def advance(self, seconds: float) -> None:
            r = await http.post(f"{sandbox_url}/_sandbox/clock", json={"advance_seconds": seconds})
            r.raise_for_status()

    yield Admin()
    await http.delete(f"{sandbox_url}/_sandbox/faults")


async def authorize(
    http: httpx.AsyncClient, url: str, account: str, decision: str = "approve", scopes: list[str] | None = None
) -> str:
    """`scopes`: untick every scope checkbox but these (the creator grants a subset)."""
    page = await http.get(url)
    assert page.status_code == 200, page.text[:300]
    form = AuthorizeForm()
    form.feed(page.text)
    assert form.action and account in form.accounts, f"authorize page without a form or without {account}"
    fields = form.fields if scopes is None else [f for f in form.fields if f[0] != "scope"]
    data = [*fields, *(("scope", s) for s in scopes or []), ("account", account), ("decision", decision)]
    answer = await http.post(
        urljoin(url, form.action),
        content=urlencode(data),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return location


def pick(accounts: dict[str, list[dict[str, Any]]], platform: str) -> dict[str, Any]:
    if platform == "instagram":
        return next(a for a in accounts["instagram"] if a.get("professional") and a.get("linked_page"))
    if platform == "facebook":
        return next(a for a in accounts["facebook"] if a.get("history_items"))
    if platform == "youtube":
        return next(a for a in accounts["youtube"] if a.get("has_channel"))
    return accounts[platform][0]


async def connect(
    conn: Connector, http: httpx.AsyncClient, account: dict[str, Any], platform: str
) -> tuple[TokenSet, str]:
    auth = conn.authorization_url(REDIRECT, extra={"login_hint": account["creator"]})
    location = await authorize(http, auth.url, account["id"])
    callback = conn.parse_callback(location)
    assert callback.ok, callback
    assert callback.state == auth.state
    verifier = auth.code_verifier.get_secret_value() if auth.code_verifier else None
    token = await conn.exchange_code(callback.code or "", REDIRECT, verifier)
    return await conn.upgrade_token(token), location


VARIANTS = [
    ("instagram", "facebook"),
    ("instagram", "instagram"),
    ("facebook", None),
    ("tiktok", None),
    ("youtube", None),
    ("twitter", None),
    ("twitch", None),
]


@pytest.mark.parametrize(("platform", "login"), VARIANTS, ids=[f"{p}-{v}" if v else p for p, v in VARIANTS])
async def test_full_flow(platform: str, login: str | None, http, config, admin, caplog) -> None:
    caplog.set_level(logging.INFO, logger="httpx")  # httpx logs every request URL at INFO
    conn = get_connector(platform, config, http, instagram_login=login)  # type: ignore[arg-type]
    account = pick(await admin.accounts(), platform)
    token, location = await connect(conn, http, account, platform)
    if platform in ("instagram", "facebook"):
        assert location.endswith("#_=_" if login != "instagram" else "#_")
        assert token.long_lived and token.expires_at is not None
    assert token.secret()

    accounts = await conn.list_accounts(token)
    mine = next(a for a in accounts if a.id == account["id"] and a.eligible)
    data_token = mine.token or token  # Facebook Pages read with the Page token

    profile = await conn.fetch_profile(data_token, mine.id)
    assert profile.id == account["id"] and profile.platform.value == platform
    if platform == "youtube":
        assert isinstance(profile.extras["videos_count"], int)
        assert profile.extras["playlists_count"] is not None
        assert profile.extras["total_watch_minutes"] is not None
    if platform == "twitter":
        assert isinstance(profile.extras["tweet_count"], int)

    audience = await conn.fetch_audience(data_token, mine.id)
    assert audience.available is (platform in ("instagram", "youtube")), audience.note
    if audience.available:
        assert abs(sum(audience.countries.values()) - 1) < 0.01
        assert len(audience.countries) > 3 and "others" in audience.summary(3).countries

    contents = await conn.fetch_contents(data_token, mine.id)
    assert contents, "the sandbox creators have history"
    assert len({c.id for c in contents}) == len(contents)  # pagination neither repeats nor loops
    stamps = [c.published_at for c in contents if c.published_at]
    assert stamps == sorted(stamps, reverse=True)

    ids = [c.id for c in contents[:3] if c.type is not ContentType.STORY]
    metrics = await conn.fetch_content_metrics(data_token, mine.id, ids)
    assert set(metrics) == set(ids)

    if platform == "instagram":
        stories = await conn.fetch_stories(data_token, mine.id)
        assert stories and all(s.type is ContentType.STORY and s.metrics is not None for s in stories)

    if login == "instagram":
        with pytest.raises(ConnectorError) as exc:  # under 24 h
            await conn.refresh(token)
        assert exc.value.kind is ErrorKind.BAD_REQUEST
        await admin.advance(86400 + 60)
    refreshed = await conn.refresh(token)
    assert refreshed.secret()
    if platform in ("tiktok", "twitter"):  # rotation: the newest refresh token replaces ours
        assert refreshed.refresh_secret() and refreshed.refresh_secret() != token.refresh_secret()
        with pytest.raises(ConnectorError) as exc:
            await conn.refresh(token)
        assert exc.value.kind in (ErrorKind.AUTH_REVOKED, ErrorKind.AUTH_EXPIRED)

    await conn.revoke(refreshed)
    if not (platform == "instagram" and login == "instagram"):  # Instagram Login has no revoke endpoint
        with pytest.raises(ConnectorError) as exc:
            await conn.fetch_profile(refreshed, mine.id)
        assert exc.value.needs_reauth

    # Some token endpoints (Meta's) take secrets in the query string: none of them may reach a log.
    code = conn.parse_callback(location).code
    secrets = {config.for_platform(platform).client_secret.get_secret_value(), code}
    secrets |= {t.secret() for t in (token, refreshed, data_token)}
    secrets |= {t.refresh_secret() for t in (token, refreshed) if t.refresh_secret()}
    assert "HTTP Request" in caplog.text
    leaked = [s for s in secrets if s and s in caplog.text]
    assert not leaked, leaked


@pytest.mark.parametrize("platform", ["instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"])
async def test_deny(platform: str, http, config, admin) -> None:
    conn = get_connector(platform, config, http)
    account = pick(await admin.accounts(), platform)
    auth = conn.authorization_url(REDIRECT, extra={"login_hint": account["creator"]})
    callback = conn.parse_callback(await authorize(http, auth.url, account["id"], decision="deny"))
    assert not callback.ok and callback.error and callback.code is None
    assert callback.state == auth.state
    assert callback.denied or callback.error == "access_denied"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("token_revoked", ErrorKind.AUTH_REVOKED),
        ("token_expired", ErrorKind.AUTH_EXPIRED),
        ("rate_limited", ErrorKind.RATE_LIMITED),
        ("quota_exhausted", ErrorKind.RATE_LIMITED),
        ("server_error", ErrorKind.TRANSIENT),
    ],
)
@pytest.mark.parametrize("platform", ["instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"])
async def test_faults(platform: str, fault: str, kind: ErrorKind, http, config, admin) -> None:
    conn = get_connector(platform, config, http)
    account = pick(await admin.accounts(), platform)
    token, _ = await connect(conn, http, account, platform)
    await admin.fault(platform=platform, account=account["id"], fault=fault)
    with pytest.raises(ConnectorError) as exc:
        await conn.fetch_profile(token, account["id"])
    if platform == "youtube" and fault == "rate_limited":
        assert exc.value.kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)  # rateLimitExceeded is transient
    elif fault == "token_revoked" and platform not in ("instagram", "facebook"):
        # Only Meta tells revoked from expired on a data call; elsewhere a 401 is "try a refresh",
        # and the refresh is what reveals the revocation.
        assert exc.value.needs_reauth
        with pytest.raises(ConnectorError) as refresh_exc:
            await conn.refresh(token)
        assert refresh_exc.value.kind is ErrorKind.AUTH_REVOKED, refresh_exc.value
    else:
        assert exc.value.kind is kind, exc.value
    if exc.value.kind is ErrorKind.RATE_LIMITED:
        assert exc.value.retry_after and exc.value.retry_after > 0
        if platform == "youtube":  # quotaExceeded: the daily quota comes back at midnight Pacific
            assert exc.value.code == "quotaExceeded" and exc.value.retry_after <= 25 * 3600
        elif platform != "tiktok":  # TikTok sends no rate-limit headers
            state = conn.last_rate_limit  # the wait comes from the limited answer's own headers
            assert state is not None and state.retry_after is not None, state
            assert abs(exc.value.retry_after - state.retry_after) < 1, state
    assert token.secret() not in repr(exc.value)


@pytest.mark.parametrize("login", ["facebook", "instagram"])
async def test_personal_instagram_account_is_not_professional(login: str, http, config, admin) -> None:
    accounts = await admin.accounts()
    personal = next(a for a in accounts["instagram"] if a["account_type"] == "PERSONAL")
    conn = get_connector("instagram", config, http, instagram_login=login)  # type: ignore[arg-type]
    auth = conn.authorization_url(REDIRECT, extra={"login_hint": personal["creator"]})
    callback = conn.parse_callback(await authorize(http, auth.url, personal["id"]))
    token = await conn.upgrade_token(await conn.exchange_code(callback.code or "", REDIRECT))
    # Facebook Login: the creator's Pages carry no instagram_business_account; Instagram Login:
    # /me says account_type PERSONAL. Either way there is nothing to connect.
    with pytest.raises(ConnectorError) as exc:
        await conn.list_accounts(token)
    assert exc.value.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT, exc.value


@pytest.mark.parametrize("login", ["facebook", "instagram"])
async def test_story_lifecycle(login: str, http, config, admin, sandbox_url) -> None:
    """A fresh story has under 5 viewers (code 10 -> metrics unavailable, not a failure); it has
    metrics hours later and is gone from /stories after 24 h."""
    conn = get_connector("instagram", config, http, instagram_login=login)  # type: ignore[arg-type]
    account = pick(await admin.accounts(), "instagram")
    token, _ = await connect(conn, http, account, "instagram")
    published = await http.post(
        f"{sandbox_url}/_sandbox/publish",
        json={"platform": "instagram", "account": account["id"], "kind": "story", "text": "new #HappySpring"},
    )
    story_id = published.json()["id"]
    fresh = {s.id: s for s in await conn.fetch_stories(token, account["id"])}[story_id]
    assert fresh.metrics is not None and not fresh.metrics.available
    assert fresh.metrics.unavailable_reason == "not_enough_viewers"
    await admin.advance(6 * 3600)
    later = {s.id: s for s in await conn.fetch_stories(token, account["id"])}[story_id]
    assert later.metrics is not None and later.metrics.available and (later.metrics.reach or 0) >= 5
    await admin.advance(18 * 3600 + 60)
    assert story_id not in {s.id for s in await conn.fetch_stories(token, account["id"])}


@pytest.mark.parametrize("platform", ["instagram", "facebook"])
async def test_password_change_revokes_meta_tokens(platform: str, http, config, admin) -> None:
    conn = get_connector(platform, config, http)
    account = pick(await admin.accounts(), platform)
    token, _ = await connect(conn, http, account, platform)
    await admin.fault(platform=platform, account=account["id"], fault="password_changed")
    with pytest.raises(ConnectorError) as exc:
        await conn.fetch_profile(token, account["id"])
    assert (exc.value.kind, exc.value.code) == (ErrorKind.AUTH_REVOKED, 190), exc.value
    assert exc.value.raw["error"]["error_subcode"] == 460


@pytest.mark.parametrize(("platform", "login"), VARIANTS, ids=[f"{p}-{v}" if v else p for p, v in VARIANTS])
async def test_codes_are_single_use(platform: str, login: str | None, http, config, admin) -> None:
    conn = get_connector(platform, config, http, instagram_login=login)  # type: ignore[arg-type]
    account = pick(await admin.accounts(), platform)
    auth = conn.authorization_url(REDIRECT, extra={"login_hint": account["creator"]})
    code = conn.parse_callback(await authorize(http, auth.url, account["id"])).code or ""
    verifier = auth.code_verifier.get_secret_value() if auth.code_verifier else None
    assert (await conn.exchange_code(code, REDIRECT, verifier)).secret()
    with pytest.raises(ConnectorError) as exc:  # a used code is our bug or a replay: bad_request, not reauth
        await conn.exchange_code(code, REDIRECT, verifier)
    assert exc.value.kind is ErrorKind.BAD_REQUEST, exc.value
    assert code not in str(exc.value) and code not in repr(exc.value)


async def connect_granting(
    platform: str, granted: list[str], http: httpx.AsyncClient, config: PlatformsConfig, admin: Any
) -> tuple[Connector, TokenSet, str]:
    conn = get_connector(platform, config, http)
    account = pick(await admin.accounts(), platform)
    auth = conn.authorization_url(REDIRECT, extra={"login_hint": account["creator"]})
    callback = conn.parse_callback(await authorize(http, auth.url, account["id"], scopes=granted))
    verifier = auth.code_verifier.get_secret_value() if auth.code_verifier else None
    token = await conn.exchange_code(callback.code or "", REDIRECT, verifier)
    assert set(token.scopes) == set(granted)
    return conn, token, account["id"]


async def test_tiktok_without_stats_scope_is_permission_missing(http, config, admin) -> None:
    conn, token, account_id = await connect_granting("tiktok", ["user.info.basic", "video.list"], http, config, admin)
    with pytest.raises(ConnectorError) as exc:
        await conn.fetch_profile(token, account_id)
    assert exc.value.kind is ErrorKind.PERMISSION_MISSING, exc.value


async def test_twitch_without_moderator_scope_still_counts_followers(http, config, admin) -> None:
    conn, token, account_id = await connect_granting("twitch", [], http, config, admin)
    profile = await conn.fetch_profile(token, account_id)  # the follower list is empty, `total` is not
    assert profile.followers and profile.followers > 0


async def test_x_without_offline_access_has_no_refresh_token(http, config, admin) -> None:
    conn, token, account_id = await connect_granting("twitter", ["tweet.read", "users.read"], http, config, admin)
    assert token.refresh_token is None and (await conn.fetch_profile(token, account_id)).id == account_id
    with pytest.raises(ConnectorError) as exc:
        await conn.refresh(token)
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED  # nothing to refresh with: the creator must reconnect


async def test_tiktok_lifetimes_and_paging_walk_every_video(config, admin) -> None:
    """Today's TikTok lifetimes (2 h access, 180 days refresh, the same after a rotating refresh), and the
    video list paged with an explicit `max_count` of 20 (the sandbox, like TikTok, defaults to 10)."""
    bodies: list[dict[str, Any]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/v2/video/list/"):
            bodies.append(json.loads(request.content))

    async with httpx.AsyncClient(timeout=10, event_hooks={"request": [record]}) as http:
        conn = get_connector("tiktok", config, http)
        account = pick(await admin.accounts(), "tiktok")
        token, _ = await connect(conn, http, account, "tiktok")

        def lifetimes(t: TokenSet) -> tuple[float, float]:
            assert t.expires_at and t.refresh_expires_at
            return (t.expires_at - t.issued_at).total_seconds(), (t.refresh_expires_at - t.issued_at).total_seconds()

        for lifetime, expected in zip(lifetimes(token), (7200, 15_552_000), strict=True):
            assert abs(lifetime - expected) < 5, lifetime
        refreshed = await conn.refresh(token)
        for lifetime, expected in zip(lifetimes(refreshed), (7200, 15_552_000), strict=True):
            assert abs(lifetime - expected) < 5, lifetime

        profile = await conn.fetch_profile(refreshed, account["id"])
        contents = await conn.fetch_contents(refreshed, account["id"])
    assert profile.content_count and profile.content_count > 40
    assert len(contents) == len({c.id for c in contents}) == profile.content_count  # every video, once
    assert bodies and all(b["max_count"] == 20 for b in bodies)
    assert len(bodies) == -(-profile.content_count // 20)  # 20 a page: the fewest calls


@pytest.mark.parametrize("login", ["facebook", "instagram"])
async def test_instagram_carousel_children_reach_content(login: str, http, config, admin) -> None:
    """The media listing expands `children{id,media_type,media_url,thumbnail_url}`: every carousel comes
    with its photos and videos, whose CDN URLs serve the bytes."""
    conn = get_connector("instagram", config, http, instagram_login=login)  # type: ignore[arg-type]
    account = pick(await admin.accounts(), "instagram")
    token, _ = await connect(conn, http, account, "instagram")
    data_token = next(a for a in await conn.list_accounts(token) if a.id == account["id"]).token or token
    contents = await conn.fetch_contents(data_token, account["id"])
    carousels = [c for c in contents if c.type is ContentType.CAROUSEL]
    assert carousels, "the sandbox account posts carousels"
    assert all(not c.children for c in contents if c.type is not ContentType.CAROUSEL)
    for carousel in carousels:
        assert len(carousel.children) >= 2 and len({m.id for m in carousel.children}) == len(carousel.children)
        for media in carousel.children:
            assert media.id and media.id.startswith(carousel.id)
            assert media.media_type in ("IMAGE", "VIDEO") and media.media_url
            assert (media.thumbnail_url is not None) is (media.media_type == "VIDEO")
    sample = carousels[0].children
    for url in [m.media_url for m in sample] + [m.thumbnail_url for m in sample if m.thumbnail_url]:
        assert (await http.get(url)).status_code == 200
