"""Instagram stories captured through the API: polled while live (they last 24 h), media copied into the
media store before the platform's signed URL expires, metrics read on every poll.

- `poll_stories` (worker cron, every 20 minutes, unique across workers) reads every active Instagram
  connection's live stories; each account fails alone (its error is logged and kept on `last_error`).
- A story is an `AccountContent` of type "story" keyed by (connection, media id): a second poll updates
  the same row, and today's `ContentMetricSnapshot` of it, so the last metrics before expiry are kept.
- Its media is downloaded once (bounded by `media_max_bytes`, the declared type accepted and checked
  against the bytes by `MediaStore.save`) under `stories/<connection>/<story id>/`, and the stored path is
  recorded in the content's `media` JSON (`path`, `content_type`, `size`) beside the platform's URL. The
  file follows the transaction that records it (`kit/media.py`).
- The final figures arrive later through Meta's `story_insights` webhook (`accounts/webhooks.py`).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from fastapi import UploadFile
from starlette.datastructures import Headers

from loupe.accounts.models import AccountContent
from loupe.accounts.refresh import content_row, contents_stored, dump_metrics
from loupe.accounts.repository import AccountDataRepository, RefreshRepository
from loupe.connections.models import Connection
from loupe.connections.tokens import token_of
from loupe.connectors import ConnectorError, Content, ErrorKind, get_connector
from loupe.kit.context import ProcessContext
from loupe.kit.errors import LoupeError
from loupe.kit.media import EXTENSIONS
from loupe.kit.ratelimit import LimitedTransport, limited_client, limiter_for

log = structlog.get_logger(__name__)
POLL_CONCURRENCY = 10  # accounts polled at once by one run

POLL_MINUTES = {0, 20, 40}  # every story (24 h) is seen dozens of times, and at least hourly
SPOOL_BYTES = 1024 * 1024  # downloads larger than this wait on disk, not in memory
CHUNK = 64 * 1024
ERROR_PREFIX = "stories: "  # on the connection's last_error; cleared by the next good poll
NUMERIC = ("likes", "comments", "shares", "saves", "views", "reach", "engagements")


class MediaRefused(Exception):
    """The platform's media could not be copied (gone, too large, not an accepted type)."""


@dataclass
class Download:
    content_type: str
    file: Any  # a SpooledTemporaryFile, positioned at 0
    source: str


async def download(http: httpx.AsyncClient, url: str, max_bytes: int) -> Download:
    """Streams `url` into a spooled file, refusing more than `max_bytes` and types the media store refuses."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (handed to the caller)
    try:
        async with http.stream("GET", url) as answer:
            if answer.status_code != 200:
                raise MediaRefused(f"the media URL answered {answer.status_code}")
            content_type = (answer.headers.get("content-type") or "").split(";")[0].strip().lower()
            if content_type not in EXTENSIONS:
                raise MediaRefused(f"content type {content_type or 'none'!r} is not accepted")
            declared = answer.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaRefused(f"the media exceeds {max_bytes} bytes")
            size = 0
            async for chunk in answer.aiter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaRefused(f"the media exceeds {max_bytes} bytes")
                spool.write(chunk)
    except httpx.HTTPError as exc:
        spool.close()
        raise MediaRefused(f"{type(exc).__name__} fetching the media") from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Download(content_type, spool, url)


def stored_path(media: list[dict[str, Any]]) -> str | None:
    return next((m["path"] for m in media if isinstance(m, dict) and m.get("path")), None)


def has_figures(metrics: dict[str, Any]) -> bool:
    return any(metrics.get(k) is not None for k in NUMERIC)


class StoryPoll:
    def __init__(self, process: ProcessContext, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        # Graph calls take permits of the instagram limiter shared by every worker (as the daily refresh does);
        # media downloads go to the CDN, outside the Graph limits, on the process's client.
        limiter = limiter_for(process.arq, process.settings.rate_limits)
        transport = LimitedTransport(process.http_transport, limiter, "instagram")
        self.connector = get_connector(
            "instagram", process.settings.platforms_config(), limited_client(transport, process.http.timeout)
        )

    async def run(self) -> dict[str, int]:
        token = token_of(self.process.vault, self.connection)
        if token is None:
            raise ConnectorError(ErrorKind.AUTH_EXPIRED, "instagram", "no token stored")
        stories = await self.connector.fetch_stories(token, self.connection.platform_user_id)
        async with self.process.sessionmaker() as session:
            known = await AccountDataRepository(session).contents_by_platform_id(
                self.connection.id, [s.id for s in stories]
            )
        # Network outside any transaction: copy the media of stories not stored yet.
        downloads: dict[str, Download] = {}
        try:
            for story in stories:
                existing = known.get(story.id)
                if existing is not None and stored_path(existing.media):
                    continue
                url = story.media_urls[0] if story.media_urls else story.thumbnail_url
                if not url:
                    continue
                try:
                    downloads[story.id] = await download(self.process.http, url, self.process.settings.media_max_bytes)
                except MediaRefused as exc:  # retried next poll while the URL lives
                    log.warning("stories.media_refused", connection_id=str(self.connection.id), reason=str(exc))
            stored = await self._store(stories, known, downloads)
        finally:
            for item in downloads.values():
                item.file.close()
        return {"stories": len(stories), "media_stored": stored}

    async def _store(
        self, stories: list[Content], known: dict[str, AccountContent], downloads: dict[str, Download]
    ) -> int:
        now = self.process.clock.now()
        cid, stored = self.connection.id, 0
        async with self.process.sessionmaker() as session, session.begin():
            data = AccountDataRepository(session)
            rows = []
            for story in stories:
                row = content_row(cid, story)
                existing = known.get(story.id)
                if existing is not None:  # keep what earlier polls and the webhook recorded
                    row["media"] = [{**old, **new} for old, new in zip(existing.media, row["media"], strict=False)] or (
                        existing.media
                    )
                    row["extras"] = {**existing.extras, **row["extras"]}
                rows.append(row)
            ids = await data.save_contents(rows)
            await contents_stored(session, self.connection, list(ids.values()))
            media_of = {r["platform_content_id"]: r["media"] for r in rows}
            for pid, item in downloads.items():
                upload = UploadFile(item.file, headers=Headers({"content-type": item.content_type}))
                try:
                    saved = await self.process.media.save(session, upload, item.content_type, f"stories/{cid}/{pid}")
                except LoupeError as exc:  # the bytes are not what the type says, or too large
                    log.warning("stories.media_refused", connection_id=str(cid), reason=exc.detail)
                    continue
                first = {"url": item.source, **(media_of[pid][0] if media_of[pid] else {})}
                first.update(path=saved.path, content_type=saved.content_type, size=saved.size)
                await data.set_media(ids[pid], [first, *media_of[pid][1:]])
                stored += 1
            fresh = {}
            for story in stories:
                metrics = dump_metrics(story.metrics) if story.metrics is not None else {}
                existing = known.get(story.id)
                if has_figures(metrics) or existing is None or not has_figures(existing.metrics):
                    fresh[ids[story.id]] = metrics  # never replace real figures by "not enough viewers"
            await data.save_metrics(fresh, now, now.date())
            await RefreshRepository(session).clear_error(cid, ERROR_PREFIX)
        return stored


async def _failed(process: ProcessContext, connection: Connection, reason: str) -> None:
    async with process.sessionmaker() as session, session.begin():
        await RefreshRepository(session).done(connection.id, {"last_error": f"{ERROR_PREFIX}{reason}"})


async def poll_stories(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker cron: every active Instagram connection's live stories, each account on its own, a few at a
    time (the calls wait on the platform, so thousands of accounts fit in the 20 minutes between runs)."""
    process: ProcessContext = ctx["process"]
    async with process.sessionmaker() as session:
        connections = await RefreshRepository(session).active_of("instagram")
    totals = {"accounts": len(connections), "failed": 0, "stories": 0, "media_stored": 0}
    gate = asyncio.Semaphore(POLL_CONCURRENCY)

    async def poll(connection: Connection) -> None:
        fields = {"connection_id": str(connection.id)}
        async with gate:
            try:
                result = await StoryPoll(process, connection).run()
            except ConnectorError as exc:
                totals["failed"] += 1
                log.warning("stories.failed", kind=exc.kind.value, **fields)
                await _failed(process, connection, f"{exc.kind.value}: {exc.message}")
                return
            except Exception as exc:  # one account's surprise never stops the others
                totals["failed"] += 1
                log.exception("stories.crashed", **fields)
                await _failed(process, connection, f"internal error ({type(exc).__name__})")
                return
        totals["stories"] += result["stories"]
        totals["media_stored"] += result["media_stored"]

    await asyncio.gather(*(poll(connection) for connection in connections))
    return totals
