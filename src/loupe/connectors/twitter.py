"""X API v2 with OAuth 2.0 Authorization Code + PKCE."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from .base import OAuth2Connector, oauth_error_kind, status_kind
from .config import TwitterConfig
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
from .timeparse import parse_datetime, to_int

USER_FIELDS = "public_metrics,created_at,description,profile_image_url,verified"
TWEET_FIELDS = "created_at,public_metrics,entities"
MAX_RESULTS = 100
# Problem types of partial errors (inside a 200) and what they mean for us.
PROBLEM_KINDS = {
    "resource-not-found": ErrorKind.NOT_FOUND,
    "not-authorized-for-resource": ErrorKind.PERMISSION_MISSING,
    "resource-unauthorized": ErrorKind.PERMISSION_MISSING,
    "client-forbidden": ErrorKind.PERMISSION_MISSING,
    "usage-capped": ErrorKind.RATE_LIMITED,
}


def problem_kind(problem: Mapping[str, Any], status: int) -> ErrorKind:
    kind = str(problem.get("type") or "")
    for suffix, mapped in PROBLEM_KINDS.items():
        if kind.endswith(suffix):
            return mapped
    return status_kind(status)  # a 200's partial error with an unknown type: bad_request


class TwitterConnector(OAuth2Connector):
    platform = Platform.TWITTER
    config: TwitterConfig

    def __init__(self, config: TwitterConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)

    def _rate_limit_from(self, headers: httpx.Headers) -> RateLimitState | None:
        return parse_epoch_headers(self.platform, headers, "x-rate-limit-")

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        status = response.status_code
        if isinstance(body, dict) and isinstance(body.get("error"), str):  # OAuth token endpoint
            kind = oauth_error_kind(body["error"], context, token)
            return self.error(
                kind, str(body.get("error_description") or body["error"]), status=status, code=body["error"], raw=body
            )
        if not response.is_success:
            if isinstance(body, dict) and ("title" in body or "detail" in body):  # problem+json
                kind = problem_kind(body, status)
                if status == 429:
                    kind = ErrorKind.RATE_LIMITED
                retry = self._retry_after(response) if kind is ErrorKind.RATE_LIMITED else None
                return self.error(
                    kind,
                    str(body.get("detail") or body.get("title")),
                    status=status,
                    code=body.get("type") or status,
                    raw=body,
                    retry_after=retry,
                )
            return self._status_error(response, body)
        # A 200 can carry errors[] next to (partial) or instead of data. A multi-id lookup reports
        # each missing item there, so errors alone only mean "none of them is left".
        if isinstance(body, dict) and body.get("errors") and "data" not in body and context == "api":
            first = body["errors"][0]
            return self.error(
                problem_kind(first, 200),
                str(first.get("detail") or first.get("title")),
                status=status,
                code=first.get("type"),
                raw=body,
            )
        return None

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
            **(extra or {}),
        }
        return build_authorization(
            f"{self.config.www_url}/i/oauth2/authorize",
            params,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            pkce=True,
        )

    @property
    def token_url(self) -> str:
        return f"{self.config.api_url}/2/oauth2/token"

    def _client_form(self) -> dict[str, str]:
        return {"client_id": self.config.client_id}  # the secret goes in the Basic header

    def _token_headers(self) -> dict[str, str]:
        if not self.config.confidential:
            return {}
        raw = f"{self.config.client_id}:{self.config.client_secret.get_secret_value()}".encode()
        return {"Authorization": f"Basic {base64.b64encode(raw).decode()}"}

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        if not code_verifier:
            raise self.error(ErrorKind.BAD_REQUEST, "X requires PKCE: code_verifier missing")
        return await super().exchange_code(code, redirect_uri, code_verifier)

    async def refresh(self, token: TokenSet) -> TokenSet:
        """Needs `offline.access`; X rotates the refresh token, the newest is returned."""
        if not token.refresh_token:
            raise self.error(ErrorKind.AUTH_EXPIRED, "no refresh token (offline.access was not granted)")
        return await super().refresh(token)

    async def revoke(self, token: TokenSet) -> None:
        url = f"{self.config.api_url}/2/oauth2/revoke"
        for value, hint in ((token.refresh_secret(), "refresh_token"), (token.secret(), "access_token")):
            if value:
                await self._grant({"token": value, "token_type_hint": hint}, context="revoke", token=token, url=url)

    # -- data -------------------------------------------------------------------------------------

    async def _get(
        self, path: str, token: TokenSet, params: Mapping[str, Any], *, context: str = "api"
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token.secret()}"}
        body: dict[str, Any] = await self._call(
            "GET", f"{self.config.api_url}/2/{path}", token=token, context=context, params=params, headers=headers
        )
        return body

    async def _me(self, token: TokenSet) -> dict[str, Any]:
        data: dict[str, Any] = (await self._get("users/me", token, {"user.fields": USER_FIELDS}))["data"]
        return data

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        me = await self._me(token)
        return [
            PlatformAccount(
                platform=Platform.TWITTER,
                id=str(me["id"]),
                username=me.get("username"),
                name=me.get("name"),
                picture_url=me.get("profile_image_url"),
            )
        ]

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        me = await self._me(token)
        pm = me.get("public_metrics") or {}
        username = me.get("username")
        return Profile(
            platform=Platform.TWITTER,
            id=str(me["id"]),
            username=username,
            display_name=me.get("name"),
            bio=me.get("description"),
            avatar_url=me.get("profile_image_url"),
            url=f"https://x.com/{username}" if username else None,
            followers=to_int(pm.get("followers_count")),
            following=to_int(pm.get("following_count")),
            content_count=to_int(pm.get("tweet_count")),
            verified=me.get("verified"),
            created_at=parse_datetime(me.get("created_at")),
            extras={"tweet_count": to_int(pm.get("tweet_count")), "listed_count": to_int(pm.get("listed_count"))},
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
        params: dict[str, Any] = {
            "max_results": max(5, min(page_size or MAX_RESULTS, MAX_RESULTS)),
            "tweet.fields": TWEET_FIELDS,
            "exclude": "retweets,replies",
        }
        if since:
            params["start_time"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        if cursor:
            params["pagination_token"] = cursor
        body = await self._get(f"users/{account_id}/tweets", token, params)
        items = [self._tweet(t, account_id) for t in body.get("data") or []]
        return ContentPage(items=items, next_cursor=(body.get("meta") or {}).get("next_token") or None)

    def _tweet(self, t: dict[str, Any], account_id: str) -> Content:
        entities = t.get("entities") or {}
        return Content(
            platform=Platform.TWITTER,
            id=str(t["id"]),
            account_id=account_id,
            type=ContentType.TWEET,
            text=t.get("text"),
            permalink=f"https://x.com/i/web/status/{t['id']}",
            published_at=parse_datetime(t.get("created_at")),
            metrics=tweet_metrics(t.get("public_metrics") or {}),
            extras={
                "hashtags": [h.get("tag") for h in entities.get("hashtags") or []],
                "mentions": [m.get("username") for m in entities.get("mentions") or []],
            },
        )

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        """GET /2/tweets?ids= (≤ 100); deleted tweets come back as partial errors and are skipped."""
        out: dict[str, ContentMetrics] = {}
        for i in range(0, len(content_ids), MAX_RESULTS):
            chunk = content_ids[i : i + MAX_RESULTS]
            body = await self._get(
                "tweets", token, {"ids": ",".join(chunk), "tweet.fields": "public_metrics"}, context="lookup"
            )
            for t in body.get("data") or []:
                out[str(t["id"])] = tweet_metrics(t.get("public_metrics") or {})
        return out


def tweet_metrics(pm: Mapping[str, Any]) -> ContentMetrics:
    return ContentMetrics(
        likes=to_int(pm.get("like_count")),
        comments=to_int(pm.get("reply_count")),
        shares=(to_int(pm.get("retweet_count")) or 0) + (to_int(pm.get("quote_count")) or 0),
        saves=to_int(pm.get("bookmark_count")),
        views=to_int(pm.get("impression_count")),
        extras={k: to_int(pm.get(k)) for k in ("retweet_count", "quote_count") if pm.get(k) is not None},
    )
