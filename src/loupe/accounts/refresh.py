"""The daily refresh of one connected account: tokens kept alive, then profile, audience, new contents and
fresh metrics of the last 30 days. Each account fails alone:

- rate limits and platform hiccups raise arq's `Retry`, deferred by what the platform said (`retry_after`);
- an expired token is refreshed once and the call tried again (TikTok, X, Twitch and YouTube report a
  revoked token as expired first); an authorisation that is gone makes the connection `expired` or
  `revoked`, its grants follow, and their invites become `action_needed`;
- anything else is recorded on the connection (`last_error`) and waits for the next slot.

Platform calls run outside any database transaction; a rotated refresh token is committed the moment it
arrives (the old one is dead at the platform already).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.repository import AccountDataRepository, RefreshRepository
from loupe.connections.models import Connection, ConnectionStatus
from loupe.connections.removal import Removal
from loupe.connections.tokens import token_columns, token_of
from loupe.connectors import Audience, ConnectorError, Content, ErrorKind, Profile, TokenSet, get_connector
from loupe.connectors.base import Connector
from loupe.kit.context import ProcessContext
from loupe.kit.hooks import Hook
from loupe.kit.ratelimit import LimitedTransport, NotYet, limited_client, limiter_for

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Contents were stored for an account (new or updated, ids given), in the storing transaction: trackings
# collect the ones that match them.
contents_stored: Hook[[AsyncSession, Connection, list[uuid.UUID]]] = Hook("contents_stored")

DAY = timedelta(days=1)
METRICS_WINDOW = timedelta(days=30)  # contents younger than this get fresh metrics every run
FIRST_RUN_ITEMS = 200  # the first run reads at most this many of an account's past contents
REFRESH_AHEAD = timedelta(hours=1)  # refresh a token expiring sooner than this before using it
META_RENEW_AHEAD = timedelta(days=7)  # Meta long-lived tokens are exchanged again in their last week
MAX_TRIES = 5  # platform failures (429, 5xx) of one refresh before it waits for its next slot
# A job whose first request would wait longer than this for Loupe's own limiter goes back to the queue until
# its permit is near (a burst of thousands of accounts on one platform must not put every worker slot to sleep
# while other platforms' accounts wait); it may do so this many times, none counted as a failure.
FIRST_WAIT_SECONDS = 2.0
MAX_DEFERRALS = 50
JOB_MAX_TRIES = MAX_TRIES + MAX_DEFERRALS  # arq's own count includes the deferrals
LOCK_SECONDS = 600  # longer than a refresh may take (the job timeout), so a lock never outlives its holder


def slot_of(connection_id: uuid.UUID) -> timedelta:
    """The account's own moment of the day: a hash of its id spreads 5,000 accounts evenly over 24 h."""
    digest = int.from_bytes(hashlib.sha256(connection_id.bytes).digest()[:8], "big")
    return timedelta(seconds=digest % 86_400)


def next_slot(connection_id: uuid.UUID, after: datetime) -> datetime:
    """The first slot of the account strictly after `after`, and at least 12 hours later (a manual or first
    refresh just before the slot does not make the account refresh twice in a few minutes)."""
    midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = midnight + slot_of(connection_id)
    while candidate <= after + timedelta(hours=12):
        candidate += DAY
    return candidate


def needs_refresh(token: TokenSet, platform: str, now: datetime) -> bool:
    if token.expires_at is None:
        return False
    if token.refresh_token is not None:
        return token.expires_at - now < REFRESH_AHEAD
    # Meta: no refresh token; a long-lived token is renewed once it is a day old and in its last week
    # (Instagram Login's refresh_access_token needs 24 h; Facebook Login exchanges it again).
    return platform in ("instagram", "facebook") and token.expires_at - now < META_RENEW_AHEAD


@dataclass(frozen=True)
class Stored:
    """What the refresh needs of the stored contents: the newest one's date (new contents are read from a day
    before it) and the recent ones (platform id → our id), whose metrics are read again."""

    latest: datetime | None
    recent: dict[str, uuid.UUID]


class AccountRefresh:
    def __init__(self, process: ProcessContext, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        # Every HTTP request of this refresh takes a permit of the platform's limiter, shared by all workers.
        limiter = limiter_for(process.arq, process.settings.rate_limits)
        self.transport = LimitedTransport(
            process.http_transport, limiter, connection.platform, first_wait=FIRST_WAIT_SECONDS
        )
        self.connector: Connector = get_connector(
            connection.platform,
            process.settings.platforms_config(),
            limited_client(self.transport, process.http.timeout),
        )
        self.calls = 0

    async def run(self, stored: Stored) -> dict[str, Any]:
        now = self.process.clock.now()
        token = token_of(self.process.vault, self.connection)
        if token is None:
            raise ConnectorError(ErrorKind.AUTH_EXPIRED, self.connection.platform, "no token stored")
        if needs_refresh(token, self.connection.platform, now):
            token = await self._refresh(token)
        account_id = self.connection.platform_user_id
        profile, token = await self._call(token, lambda t: self.connector.fetch_profile(t, account_id))
        audience, token = await self._call(token, lambda t: self.connector.fetch_audience(t, account_id))
        since = stored.latest - DAY if stored.latest else None
        contents, token = await self._call(
            token,
            lambda t: self.connector.fetch_contents(
                t, account_id, since=since, max_items=None if since else FIRST_RUN_ITEMS
            ),
        )
        listed = {c.id for c in contents}
        stale = [pid for pid in stored.recent if pid not in listed]
        metrics: dict[str, Any] = {}
        if stale:
            metrics, token = await self._call(
                token, lambda t: self.connector.fetch_content_metrics(t, account_id, stale)
            )
        await self._store(now, profile, audience, contents, metrics, stored.recent)
        return {
            "contents": len(contents),
            "metrics": len(listed) + len(metrics),
            "calls": self.calls,
            "http_calls": self.transport.calls,  # HTTP requests sent, each after taking a permit
        }

    async def _call(self, token: TokenSet, call: Callable[[TokenSet], Awaitable[T]]) -> tuple[T, TokenSet]:
        """One platform operation; an expired token is refreshed once and the operation tried again."""
        self.calls += 1
        try:
            return await call(token), token
        except ConnectorError as exc:
            if exc.kind is not ErrorKind.AUTH_EXPIRED or token.refresh_token is None:
                raise
        token = await self._refresh(token)
        self.calls += 1
        return await call(token), token

    async def _refresh(self, token: TokenSet) -> TokenSet:
        self.calls += 1
        fresh = await self.connector.refresh(token)
        async with self.process.sessionmaker() as session, session.begin():
            await RefreshRepository(session).done(self.connection.id, token_columns(self.process.vault, fresh))
        log.info("refresh.token_renewed", platform=self.connection.platform, connection_id=str(self.connection.id))
        return fresh

    async def _store(
        self,
        now: datetime,
        profile: Profile,
        audience: Audience,
        contents: list[Content],
        metrics: dict[str, Any],
        known: dict[str, uuid.UUID],
    ) -> None:
        cid, day = self.connection.id, now.date()
        async with self.process.sessionmaker() as session, session.begin():
            data = AccountDataRepository(session)
            counts = {
                "followers": profile.followers,
                "following": profile.following,
                "content_count": profile.content_count,
            }
            await data.save_profile(
                {
                    "connection_id": cid,
                    "username": profile.username,
                    "display_name": profile.display_name,
                    "bio": profile.bio,
                    "avatar_url": profile.avatar_url,
                    "url": profile.url,
                    "website": profile.website,
                    "verified": profile.verified,
                    "account_type": profile.account_type,
                    "extras": profile.extras,
                    "refreshed_at": now,
                    **counts,
                },
                {"connection_id": cid, "taken_on": day, "taken_at": now, "extras": profile.extras, **counts},
            )
            await data.save_audience(
                {
                    "connection_id": cid,
                    "available": audience.available,
                    "note": audience.note,
                    "countries": audience.countries,
                    "cities": audience.cities,
                    "ages": audience.ages,
                    "genders": audience.genders,
                    "refreshed_at": now,
                }
            )
            ids = await data.save_contents([content_row(cid, c) for c in contents])
            await contents_stored(session, self.connection, list(ids.values()))
            fresh = {ids[c.id]: dump_metrics(c.metrics) for c in contents if c.metrics is not None}
            fresh.update({known[pid]: dump_metrics(m) for pid, m in metrics.items() if pid in known})
            # An answer without a single figure (metrics unavailable) never replaces figures we have.
            await data.save_metrics({k: v for k, v in fresh.items() if has_figures(v)}, now, day)
            await RefreshRepository(session).done(
                cid,
                {
                    "last_refreshed_at": now,
                    "next_refresh_at": next_slot(cid, now),
                    "last_error": None,
                    "username": profile.username or self.connection.username,
                },
            )


def content_row(connection_id: uuid.UUID, content: Content) -> dict[str, Any]:
    media = [{"url": url} for url in content.media_urls] + [
        {"url": child.media_url, "type": child.media_type, "thumbnail_url": child.thumbnail_url}
        for child in content.children
    ]
    return {
        "connection_id": connection_id,
        "platform": content.platform.value,
        "platform_content_id": content.id,
        "type": content.type.value,
        "published_at": content.published_at,
        "caption": content.text,
        "title": content.title,
        "permalink": content.permalink,
        "media": media,
        "duration_seconds": content.duration_seconds,
        "extras": {**content.extras, **({"thumbnail_url": content.thumbnail_url} if content.thumbnail_url else {})},
    }


def has_figures(metrics: dict[str, Any]) -> bool:
    return any(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())


def dump_metrics(metrics: Any) -> dict[str, Any]:
    data = metrics.model_dump(exclude_none=True)
    extras = data.pop("extras", {}) or {}
    return {**data, **extras}


LAPSED = {
    ErrorKind.AUTH_EXPIRED: ConnectionStatus.expired,
    ErrorKind.AUTH_REVOKED: ConnectionStatus.revoked,
    ErrorKind.PERMISSION_MISSING: ConnectionStatus.revoked,
    ErrorKind.NOT_FOUND: ConnectionStatus.revoked,  # the account is gone at the platform
}


async def refresh_connection(ctx: dict[str, Any], connection_id: str) -> dict[str, Any]:
    """Worker job: one account's refresh (job id `refresh:<id>`, so a queued refresh is never doubled)."""
    process: ProcessContext = ctx["process"]
    # One refresh of an account at a time, whichever worker: two would spend one rotating refresh token twice,
    # and the platform would take the second for a stolen token and revoke the grant.
    lock = process.arq.lock(f"loupe:refresh-lock:{connection_id}", timeout=LOCK_SECONDS, blocking=False)
    if not await lock.acquire():
        return {"skipped": "another refresh of this account is running"}
    try:
        cid = uuid.UUID(connection_id)
        async with process.reads() as session:  # one checkout, no transaction: the job's reads before any call
            connection = await RefreshRepository(session).get(cid)
            if connection is None or connection.status != ConnectionStatus.active.value:
                return {"skipped": "not active"}
            data = AccountDataRepository(session)
            since = process.clock.now() - METRICS_WINDOW
            stored = Stored(await data.latest_published(cid), await data.recent_contents(cid, since))
        try:
            return await AccountRefresh(process, connection).run(stored)
        except ConnectorError as exc:
            return await _failed(ctx, process, connection, exc)
    finally:
        await lock.release()


async def _failed(
    ctx: dict[str, Any], process: ProcessContext, connection: Connection, exc: ConnectorError
) -> dict[str, Any]:
    now = process.clock.now()
    fields = {"platform": connection.platform, "connection_id": str(connection.id), "kind": exc.kind.value}
    deferrals_key = f"loupe:refresh-deferrals:{connection.id}"
    if isinstance(exc, NotYet):
        async with process.arq.pipeline(transaction=False) as pipe:
            pipe.incr(deferrals_key)
            pipe.expire(deferrals_key, 3600)
            deferrals, _ = await pipe.execute()
        if deferrals <= MAX_DEFERRALS:
            raise Retry(defer=timedelta(seconds=exc.retry_after or FIRST_WAIT_SECONDS))
    failures = ctx.get("job_try", 1) - int(await process.arq.get(deferrals_key) or 0)
    if exc.kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT) and failures < MAX_TRIES:
        delay = exc.retry_after or 30 * failures
        log.info("refresh.retry", delay_s=delay, **fields)
        raise Retry(defer=timedelta(seconds=delay))
    async with process.sessionmaker() as session, session.begin():
        status = LAPSED.get(exc.kind)
        if status is not None:
            await Removal(session).lapse([connection.id], status, f"{exc.kind.value}: {exc.message}")
        else:
            await RefreshRepository(session).done(
                connection.id,
                {"last_error": f"{exc.kind.value}: {exc.message}", "next_refresh_at": next_slot(connection.id, now)},
            )
    log.warning("refresh.failed", **fields)
    return {"failed": exc.kind.value}
