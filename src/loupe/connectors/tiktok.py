"""TikTok Login Kit v2 + Display API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from .base import OAuth2Connector, oauth_error_kind, oauth_token, older_than, status_kind
from .config import TikTokConfig
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
    TokenSet,
)
from .oauth import build_authorization
from .ratelimit import DEFAULT_RETRY_AFTER
from .timeparse import from_epoch, to_int

USER_FIELDS = (
    "open_id,union_id,avatar_url,display_name,username,bio_description,profile_deep_link,is_verified,"
    "follower_count,following_count,likes_count,video_count"
)
VIDEO_FIELDS = (
    "id,create_time,cover_image_url,share_url,video_description,duration,title,embed_link,"
    "like_count,comment_count,share_count,view_count"
)
API_ERRORS = {
    "access_token_invalid": ErrorKind.AUTH_EXPIRED,
    "scope_not_authorized": ErrorKind.PERMISSION_MISSING,
    "scope_permission_missed": ErrorKind.PERMISSION_MISSING,
    "invalid_params": ErrorKind.BAD_REQUEST,
    "rate_limit_exceeded": ErrorKind.RATE_LIMITED,
    "spam_risk_too_many_requests": ErrorKind.RATE_LIMITED,
    "internal_error": ErrorKind.TRANSIENT,
    "user_has_no_video": ErrorKind.NOT_FOUND,
}
MAX_PAGE = 20  # video/list and video/query accept at most 20 (video/list defaults to 10)


class TikTokConnector(OAuth2Connector):
    platform = Platform.TIKTOK
    config: TikTokConfig

    def __init__(self, config: TikTokConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)

    # -- errors: a success still carries {"error": {"code": "ok"}} --------------------------------

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        if not isinstance(body, dict):
            return None if response.is_success else self._status_error(response, body)
        err = body.get("error")
        if isinstance(err, str):  # OAuth shape {"error","error_description","log_id"}, even with HTTP 200
            kind = oauth_error_kind(err, context, token)
            return self._err(kind, str(body.get("error_description") or err), response, err, body)
        if isinstance(err, dict) and err.get("code") not in (None, "ok"):
            code = str(err["code"])
            kind = API_ERRORS.get(code) or status_kind(response.status_code)
            return self._err(kind, str(err.get("message") or code), response, code, body)
        return None if response.is_success else self._status_error(response, body)

    def _err(self, kind: ErrorKind, msg: str, response: httpx.Response, code: str, body: Any) -> ConnectorError:
        # TikTok sends no rate-limit headers: 600 requests per sliding minute per endpoint.
        retry = DEFAULT_RETRY_AFTER if kind is ErrorKind.RATE_LIMITED else None
        return self.error(kind, msg, status=response.status_code, code=code, raw=body, retry_after=retry)

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
            "client_key": self.config.client_id,  # TikTok calls the client id "client_key"
            "response_type": "code",
            "scope": ",".join(scopes),
            "redirect_uri": redirect_uri,
            **(extra or {}),
        }
        return build_authorization(
            f"{self.config.www_url}/v2/auth/authorize/",
            params,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            pkce=self.config.use_pkce,
        )

    # Refresh rotates: the answer's refresh token replaces ours (the old one now gets invalid_grant).
    @property
    def token_url(self) -> str:
        return f"{self.config.api_url}/v2/oauth/token/"

    def _client_form(self) -> dict[str, str]:
        return {"client_key": self.config.client_id, "client_secret": self.config.client_secret.get_secret_value()}

    def _token_from(self, body: Mapping[str, Any], previous: TokenSet | None) -> TokenSet:
        return oauth_token(body, previous, user_id=body.get("open_id"))

    async def revoke(self, token: TokenSet) -> None:
        url = f"{self.config.api_url}/v2/oauth/revoke/"
        await self._grant({"token": token.secret()}, context="revoke", token=token, url=url)

    # -- data -------------------------------------------------------------------------------------

    async def _api(self, method: str, path: str, token: TokenSet, **kw: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token.secret()}"}
        body = await self._call(method, f"{self.config.api_url}{path}", token=token, headers=headers, **kw)
        data: dict[str, Any] = (body or {}).get("data") or {}
        return data

    async def _user(self, token: TokenSet) -> dict[str, Any]:
        data = await self._api("GET", "/v2/user/info/", token, params={"fields": USER_FIELDS})
        return data.get("user") or {}

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        user = await self._user(token)
        return [
            PlatformAccount(
                platform=Platform.TIKTOK,
                id=str(user.get("open_id") or token.user_id),
                username=user.get("username"),
                name=user.get("display_name"),
                picture_url=user.get("avatar_url"),
            )
        ]

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        user = await self._user(token)
        username = user.get("username")
        return Profile(
            platform=Platform.TIKTOK,
            id=str(user.get("open_id") or account_id),
            username=username,
            display_name=user.get("display_name"),
            bio=user.get("bio_description"),
            avatar_url=user.get("avatar_url"),
            url=user.get("profile_deep_link") or (f"https://www.tiktok.com/@{username}" if username else None),
            followers=to_int(user.get("follower_count")),
            following=to_int(user.get("following_count")),
            content_count=to_int(user.get("video_count")),
            verified=user.get("is_verified"),
            extras={"likes_count": to_int(user.get("likes_count")), "union_id": user.get("union_id")},
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
        """POST /v2/video/list/ with {max_count, cursor}; the cursor is a time in milliseconds.

        `max_count` is always sent: omitted, TikTok answers 10 videos a page; we ask for the maximum, 20
        (or the caller's smaller `page_size`), to make the fewest calls.
        """
        body: dict[str, Any] = {"max_count": max(1, min(page_size or MAX_PAGE, MAX_PAGE))}
        if cursor is not None:
            body["cursor"] = int(cursor)
        data = await self._api("POST", "/v2/video/list/", token, params={"fields": VIDEO_FIELDS}, json=body)
        items = [self._video(v, account_id) for v in data.get("videos") or []]
        kept = [c for c in items if not older_than(c.published_at, since)]
        more = bool(data.get("has_more")) and data.get("cursor") is not None and len(kept) == len(items)
        return ContentPage(items=kept, next_cursor=str(data["cursor"]) if more else None)

    def _video(self, v: dict[str, Any], account_id: str) -> Content:
        cover = v.get("cover_image_url")
        return Content(
            platform=Platform.TIKTOK,
            id=str(v["id"]),
            account_id=account_id,
            type=ContentType.VIDEO,
            title=v.get("title"),
            text=v.get("video_description") or v.get("title"),
            permalink=v.get("share_url"),
            published_at=from_epoch(v.get("create_time")),  # epoch seconds (the cursor is ms)
            thumbnail_url=cover,
            duration_seconds=float(v["duration"]) if v.get("duration") is not None else None,
            metrics=video_metrics(v),
            extras={"embed_link": v.get("embed_link")} if v.get("embed_link") else {},
        )

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        out: dict[str, ContentMetrics] = {}
        for i in range(0, len(content_ids), MAX_PAGE):
            chunk = content_ids[i : i + MAX_PAGE]
            data = await self._api(
                "POST",
                "/v2/video/query/",
                token,
                params={"fields": VIDEO_FIELDS},
                json={"filters": {"video_ids": chunk}},
            )
            for v in data.get("videos") or []:
                out[str(v["id"])] = video_metrics(v)
        return out


def video_metrics(v: Mapping[str, Any]) -> ContentMetrics:
    return ContentMetrics(
        likes=to_int(v.get("like_count")),
        comments=to_int(v.get("comment_count")),
        shares=to_int(v.get("share_count")),
        views=to_int(v.get("view_count")),
    )
