"""Meta Webhooks (public, outside `/v1` and the contract): the subscription check and `story_insights`.

- `GET /webhooks/meta`: `hub.mode=subscribe` and `hub.verify_token` equal to `LOUPE_META_WEBHOOK_VERIFY_TOKEN`
  answer `hub.challenge` as text/plain; anything else is a 403.
- `POST /webhooks/meta`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>` must verify
  against the instagram or the facebook app secret (constant time) before anything is read; else a 403 and
  nothing changes. `story_insights` changes (platform-apis.md §1.10) become the final metrics of the story
  stored by `poll_stories` (matched by the account's and the story's platform ids); unknown stories and other
  fields are acknowledged with 200 and ignored. Applying the same delivery twice leaves the same rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from loupe.accounts.repository import AccountDataRepository
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import BadRequest, Forbidden

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks", include_in_schema=False)

META_APPS = ("instagram", "facebook")
STORY_FIELDS = ("impressions", "reach", "taps_forward", "taps_back", "exits", "replies")


def hub_signature_valid(header: str | None, body: bytes, secrets: list[str]) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower()
    valid = False
    for secret in secrets:
        if not secret:
            continue  # an app without a secret signs nothing
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        valid |= hmac.compare_digest(given.encode(), expected.encode())
    return valid


@router.get("/meta")
async def meta_verify(request: Request, ctx: ContextDep) -> PlainTextResponse:
    query = request.query_params
    configured = ctx.settings.meta_webhook_verify_token
    given = query.get("hub.verify_token") or ""
    expected = configured.get_secret_value() if configured is not None else ""
    if (
        query.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise Forbidden("The subscription check failed: hub.mode or hub.verify_token is wrong.")
    return PlainTextResponse(query.get("hub.challenge") or "")


def final_metrics(value: dict[str, Any]) -> dict[str, int]:
    """The webhook's figures (old names, as Meta sends them); -1 (under 5 viewers) and non-numbers dropped."""
    out = {}
    for name in STORY_FIELDS:
        figure = value.get(name)
        if isinstance(figure, int) and not isinstance(figure, bool) and figure >= 0:
            out[name] = figure
    return out


async def apply_story_insights(
    data: AccountDataRepository, account_id: str, value: dict[str, Any], now: datetime
) -> bool:
    media_id = str(value.get("media_id") or "")
    story = await data.story_of("instagram", account_id, media_id) if media_id else None
    if story is None:
        return False
    final = final_metrics(value)
    metrics = {**story.metrics, **final}  # the poll's views/shares/… stay; the webhook's figures win
    received = {k: value.get(k) for k in STORY_FIELDS if k in value}
    extras = {**story.extras, "final_insights": received, "final_at": now.isoformat()}
    if story.extras.get("final_insights") == received and story.metrics == metrics:
        return True  # the same delivery again
    await data.save_final_metrics(story.id, metrics, extras, now, now.date())
    return True


@router.post("/meta")
async def meta_deliveries(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    body = await request.body()
    config = ctx.settings.platforms_config()
    secrets = [config.for_platform(p).client_secret.get_secret_value() for p in META_APPS]
    if not hub_signature_valid(request.headers.get("x-hub-signature-256"), body, secrets):
        raise Forbidden("The X-Hub-Signature-256 header is missing or does not verify.")
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise BadRequest("The body is not JSON.") from exc
    if not isinstance(event, dict) or event.get("object") != "instagram":
        return Response(status_code=200)  # other objects: nothing subscribed here
    data, now = AccountDataRepository(session), ctx.clock.now()
    applied = ignored = 0
    for entry in event.get("entry") or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "story_insights":
                continue
            value = change.get("value")
            if isinstance(value, dict) and await apply_story_insights(data, str(entry["id"]), value, now):
                applied += 1
            else:
                ignored += 1
    log.info("webhooks.meta", applied=applied, ignored=ignored)
    return Response(status_code=200)
