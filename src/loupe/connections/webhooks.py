"""Platform callbacks (public, outside `/v1` and the contract): Meta deauthorize and data deletion, TikTok
webhooks. Each is verified with the app secret before anything changes; a bad signature is a 4xx."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from loupe.connections.removal import META, Removal
from loupe.connections.signatures import meta_payload, tiktok_valid
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import BadRequest, Forbidden

router = APIRouter(prefix="/webhooks", include_in_schema=False)


async def _meta_user(request: Request, ctx: ContextDep) -> str:
    form = await request.form()
    signed = str(form.get("signed_request") or "")
    config = ctx.settings.platforms_config()
    secrets = [config.for_platform(p).client_secret.get_secret_value() for p in META]
    payload = meta_payload(signed, secrets) if signed else None
    if payload is None or not payload.get("user_id"):
        raise Forbidden("The signed_request is missing or its signature does not verify.")
    return str(payload["user_id"])


@router.post("/meta/deauthorize")
async def meta_deauthorize(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    user_id = await _meta_user(request, ctx)
    await Removal(session).revoked(META, user_id)
    return Response(status_code=200)


@router.post("/meta/data-deletion")
async def meta_data_deletion(request: Request, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    user_id = await _meta_user(request, ctx)
    deletion = await Removal(session).delete_meta_data(user_id)
    url = f"{ctx.settings.public_base_url.rstrip('/')}/connect/deletion/{deletion.confirmation_code}"
    return JSONResponse({"url": url, "confirmation_code": deletion.confirmation_code})


@router.post("/tiktok")
async def tiktok(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    body = await request.body()
    secret = ctx.settings.platforms_config().tiktok.client_secret.get_secret_value()
    if not tiktok_valid(request.headers.get("tiktok-signature"), body, secret):
        raise Forbidden("The TikTok-Signature header is missing, stale or does not verify.")
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise BadRequest("The body is not JSON.") from exc
    if event.get("event") == "authorization.removed" and event.get("user_openid"):
        await Removal(session).revoked(("tiktok",), str(event["user_openid"]))
    return Response(status_code=200)  # other events: acknowledged, nothing to do
