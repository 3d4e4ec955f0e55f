"""Twitch: id.twitch.tv OAuth and Helix."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from .base import OAuth2Connector, expires_at, oauth_error_kind, older_than, split_scopes, status_kind
from .config import TwitchConfig
from .errors import ConnectorError, ErrorKind
from .models import (
    AuthorizationRequest,
    Content,
    ContentMetrics,
    ContentPage,
    ContentType,
    Platform,
    PlatformAccount,
    Profile,
    RateLimitState,
    TokenSet,
)
from .oauth import build_authorization
from .ratelimit import parse_epoch_headers
from .timeparse import parse_datetime, to_int, twitch_duration_seconds

VIDEO_TYPES = {"archive": ContentType.STREAM, "highlight": ContentType.HIGHLIGHT, "upload": ContentType.VIDEO}
MAX_FIRST = 100


class TwitchConnector(OAuth2Connector):
    platform = Platform.TWITCH
    config: TwitchConfig

    def __init__(self, config: TwitchConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)

    def _rate_limit_from(self, headers: httpx.Headers) -> RateLimitState | None:
        return parse_epoch_headers(self.platform, headers, "ratelimit-")

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        if response.is_success:
            return None
        status = response.status_code
        if not isinstance(body, dict):
            return self._status_error(response, body)
        message = str(body.get("message") or body.get("error") or f"HTTP {status}")
        lowered = message.lower()
        if context == "refresh" and status in (400, 401) and "refresh token" in lowered:
            kind = ErrorKind.AUTH_REVOKED  # "Invalid refresh token": revoked, or password changed
        elif context in ("exchange", "refresh") and isinstance(body.get("error"), str) and "_" in body["error"]:
            kind = oauth_error_kind(body["error"], context, token)
        elif status == 401 and "scope" in lowered:
            kind = ErrorKind.PERMISSION_MISSING  # "Missing scope: ..."
        elif context == "exchange" and status == 400:
            kind = ErrorKind.BAD_REQUEST  # "Invalid authorization code"
        else:
            kind = status_kind(status)
        retry = self._retry_after(response) if kind is ErrorKind.RATE_LIMITED else None
        return self.error(kind, message, status=status, code=body.get("error") or status, raw=body, retry_after=retry)

    # -- OAuth ------------------------------------------------------------------------------------

    def authorization_url(
        self,
        redirect_uri: str,
        *,
        state: str | None = None,
        scopes: list[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest:
        scopes = scopes or self.config.scopes
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            # Re-show the consent screen, so a creator can switch to another Twitch account.
            "force_verify": "true" if self.config.force_verify else None,
            **(extra or {}),
        }
        return build_authorization(
            f"{self.config.id_url}/oauth2/authorize", params, redirect_uri=redirect_uri, scopes=scopes, state=state
        )

    @property
    def token_url(self) -> str:
        return f"{self.config.id_url}/oauth2/token"

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """The token response names no user: /oauth2/validate supplies id, login and scopes."""
        return await self.validate(await super().exchange_code(code, redirect_uri, code_verifier))

    async def validate(self, token: TokenSet) -> TokenSet:
        """GET /oauth2/validate (Twitch expects it hourly): user id, login, scopes, remaining life."""
        body = await self._call(
            "GET",
            f"{self.config.id_url}/oauth2/validate",
            token=token,
            context="validate",
            headers={"Authorization": f"OAuth {token.secret()}"},
        )
        update: dict[str, Any] = {"user_id": str(body["user_id"])} if body.get("user_id") else {}
        if body.get("scopes") is not None:
            update["scopes"] = split_scopes(body["scopes"])
        if body.get("expires_in"):
            update["expires_at"] = expires_at(body["expires_in"])
        if body.get("login"):
            update["extras"] = {**token.extras, "login": body["login"]}
        return token.model_copy(update=update)

    async def revoke(self, token: TokenSet) -> None:
        await self._call(
            "POST",
            f"{self.config.id_url}/oauth2/revoke",
            token=token,
            context="revoke",
            data={"client_id": self.config.client_id, "token": token.secret()},
        )

    # -- Helix ------------------------------------------------------------------------------------

    async def helix(self, path: str, token: TokenSet, params: Any = None) -> dict[str, Any]:
        # Helix refuses calls without Client-Id, even with a valid token.
        headers = {"Authorization": f"Bearer {token.secret()}", "Client-Id": self.config.client_id}
        body: dict[str, Any] = await self._call(
            "GET", f"{self.config.api_url}/helix/{path}", token=token, params=params, headers=headers
        )
        return body

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        users = (await self.helix("users", token)).get("data") or []
        return [
            PlatformAccount(
                platform=Platform.TWITCH,
                id=str(u["id"]),
                username=u.get("login"),
                name=u.get("display_name"),
                picture_url=u.get("profile_image_url"),
                extras={"broadcaster_type": u.get("broadcaster_type")},
            )
            for u in users
        ]

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        users = (await self.helix("users", token, {"id": account_id})).get("data") or []
        if not users:
            raise self.error(ErrorKind.NOT_FOUND, "user not found")
        u = users[0]
        # `total` is returned even without moderator:read:followers (the list itself is then empty).
        followers = await self.helix("channels/followers", token, {"broadcaster_id": account_id, "first": 1})
        login = u.get("login")
        return Profile(
            platform=Platform.TWITCH,
            id=str(u["id"]),
            username=login,
            display_name=u.get("display_name"),
            bio=u.get("description"),
            avatar_url=u.get("profile_image_url"),
            url=f"https://www.twitch.tv/{login}" if login else None,
            followers=to_int(followers.get("total")),
            account_type=u.get("broadcaster_type") or None,
            created_at=parse_datetime(u.get("created_at")),
            extras={"view_count": to_int(u.get("view_count")), "type": u.get("type")},
        )

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage:
        params: dict[str, Any] = {"user_id": account_id, "type": "all", "first": min(page_size or MAX_FIRST, MAX_FIRST)}
        if cursor:
            params["after"] = cursor
        body = await self.helix("videos", token, params)
        items = [self._video(v, account_id) for v in body.get("data") or []]
        kept = [c for c in items if not older_than(c.published_at, since)]
        next_cursor = (body.get("pagination") or {}).get("cursor") or None
        return ContentPage(items=kept, next_cursor=next_cursor if len(kept) == len(items) else None)

    def _video(self, v: dict[str, Any], account_id: str) -> Content:
        return Content(
            platform=Platform.TWITCH,
            id=str(v["id"]),
            account_id=str(v.get("user_id") or account_id),
            type=VIDEO_TYPES.get(str(v.get("type")), ContentType.VIDEO),
            title=v.get("title"),
            text=v.get("description") or v.get("title"),
            permalink=v.get("url"),
            published_at=parse_datetime(v.get("published_at") or v.get("created_at")),
            thumbnail_url=v.get("thumbnail_url"),
            duration_seconds=twitch_duration_seconds(v.get("duration")),
            metrics=ContentMetrics(views=to_int(v.get("view_count"))),
            extras={"language": v.get("language"), "video_type": v.get("type")},
        )

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        out: dict[str, ContentMetrics] = {}
        for i in range(0, len(content_ids), MAX_FIRST):
            # Helix repeats the parameter for several ids: ?id=a&id=b
            params = [("id", vid) for vid in content_ids[i : i + MAX_FIRST]]
            for v in (await self.helix("videos", token, params)).get("data") or []:
                out[str(v["id"])] = ContentMetrics(views=to_int(v.get("view_count")))
        return out
