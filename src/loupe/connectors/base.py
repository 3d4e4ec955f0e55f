"""The connector protocol and the HTTP plumbing every platform shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from .config import PlatformConfig
from .errors import ConnectorError, ErrorKind, scrub
from .models import (
    Audience,
    AuthorizationRequest,
    CallbackResult,
    Content,
    ContentMetrics,
    ContentPage,
    Platform,
    PlatformAccount,
    Profile,
    RateLimitState,
    TokenSet,
    utcnow,
)
from .oauth import parse_callback, split_scopes
from .ratelimit import DEFAULT_RETRY_AFTER, parse_retry_after

CallbackInput = str | Mapping[str, str]


@runtime_checkable
class Connector(Protocol):
    """What the product can ask of any platform."""

    platform: Platform
    last_rate_limit: RateLimitState | None

    def authorization_url(
        self,
        redirect_uri: str,
        *,
        state: str | None = None,
        scopes: list[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest: ...

    def parse_callback(self, callback: CallbackInput) -> CallbackResult: ...

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet: ...

    async def upgrade_token(self, token: TokenSet) -> TokenSet: ...

    async def refresh(self, token: TokenSet) -> TokenSet: ...

    async def revoke(self, token: TokenSet) -> None: ...

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]: ...

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile: ...

    async def fetch_audience(self, token: TokenSet, account_id: str) -> Audience: ...

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage: ...

    async def fetch_contents(
        self, token: TokenSet, account_id: str, *, since: datetime | None = None, max_items: int | None = None
    ) -> list[Content]: ...

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]: ...

    async def fetch_stories(self, token: TokenSet, account_id: str) -> list[Content]: ...


def status_kind(status: int) -> ErrorKind:
    """Fallback classification from the HTTP status alone."""
    if status == 401:
        return ErrorKind.AUTH_EXPIRED
    if status == 403:
        return ErrorKind.PERMISSION_MISSING
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (408, 425) or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.BAD_REQUEST


def oauth_error_kind(error: str, context: str, token: TokenSet | None = None) -> ErrorKind:
    """RFC 6749 token-endpoint errors. `context` is exchange | refresh | revoke | api."""
    if error == "invalid_grant" or (context == "refresh" and error == "invalid_request"):
        if context != "refresh":
            return ErrorKind.BAD_REQUEST  # a bad, used or expired authorization code
        # A refresh token past its known lifetime is expired; otherwise it was revoked or rotated away.
        if token and token.refresh_expires_at and token.refresh_expires_at <= utcnow():
            return ErrorKind.AUTH_EXPIRED
        return ErrorKind.AUTH_REVOKED
    if error in ("invalid_scope", "access_denied", "insufficient_scope"):
        return ErrorKind.PERMISSION_MISSING
    if error in ("server_error", "temporarily_unavailable"):
        return ErrorKind.TRANSIENT
    if error == "invalid_token":
        return ErrorKind.AUTH_EXPIRED
    return ErrorKind.BAD_REQUEST


def expires_at(seconds: Any, now: datetime | None = None) -> datetime | None:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return (now or utcnow()) + timedelta(seconds=value)


SECRET_KEYS = frozenset({"access_token", "refresh_token", "id_token", "code", "client_secret"})


def public_extras(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The raw token response minus anything secret."""
    return {k: v for k, v in payload.items() if k not in SECRET_KEYS}


class BaseConnector:
    """HTTP + error plumbing. Subclasses implement `_error_from` and the platform calls."""

    platform: ClassVar[Platform]

    def __init__(self, config: PlatformConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.last_rate_limit: RateLimitState | None = None

    def __repr__(self) -> str:  # never the config's secret
        return f"{type(self).__name__}(client_id={self.config.client_id!r})"

    # -- errors -----------------------------------------------------------------------------------

    def error(self, kind: ErrorKind, message: str, **kw: Any) -> ConnectorError:
        secret = self.config.client_secret.get_secret_value()
        return ConnectorError(kind, self.platform.value, scrub(message, secret), **kw)

    def _rate_limit_from(self, headers: httpx.Headers) -> RateLimitState | None:
        return None

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        """Return the error a response carries (also for 200s with error bodies), or None."""
        if response.is_success:
            return None
        return self._status_error(response, body)

    def _status_error(self, response: httpx.Response, body: Any, message: str | None = None) -> ConnectorError:
        kind = status_kind(response.status_code)
        return self.error(
            kind,
            message or f"HTTP {response.status_code}",
            status=response.status_code,
            raw=body,
            retry_after=self._retry_after(response) if kind is ErrorKind.RATE_LIMITED else None,
        )

    def _retry_after(self, response: httpx.Response) -> float:
        """Seconds to wait: this answer's platform headers first (never an older answer's: they may
        describe another window or object), then Retry-After, then our default."""
        state = self._rate_limit_from(response.headers)
        if state and state.retry_after:
            return state.retry_after
        return parse_retry_after(response.headers) or DEFAULT_RETRY_AFTER

    # -- HTTP -------------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        token: TokenSet | None = None,
        context: str = "api",
        secrets: tuple[str | None, ...] = (),
        **kwargs: Any,
    ) -> Any:
        """Send one request, remember rate-limit headers, raise ConnectorError on any failure."""
        hidden = (token.secret() if token else None, token.refresh_secret() if token else None, *secrets)
        kwargs.setdefault("timeout", self.config.timeout_seconds)
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise self.error(ErrorKind.TRANSIENT, f"timeout calling {self._where(url)}") from exc
        except httpx.TransportError as exc:
            message = scrub(f"network error calling {self._where(url)}: {type(exc).__name__}", *hidden)
            raise self.error(ErrorKind.TRANSIENT, message) from exc
        state = self._rate_limit_from(response.headers)
        if state is not None:
            self.last_rate_limit = state
        body = self._body(response)
        err = self._error_from(response, body, context, token)
        if err is not None:
            err.message = scrub(err.message, *hidden)
            err.args = (err.message,)
            raise err
        return body

    @staticmethod
    def _where(url: str) -> str:
        # The path only: query strings may carry tokens.
        return httpx.URL(url).copy_with(query=None).path

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return {"_text": response.text[:500]}

    # -- defaults for what some platforms do not have -----------------------------------------------

    def parse_callback(self, callback: CallbackInput) -> CallbackResult:
        return parse_callback(callback)

    async def upgrade_token(self, token: TokenSet) -> TokenSet:
        """Platforms without a short -> long-lived exchange return the token unchanged."""
        return token

    async def fetch_audience(self, token: TokenSet, account_id: str) -> Audience:
        return Audience(
            platform=self.platform,
            account_id=account_id,
            available=False,
            note=f"{self.platform.value} exposes no audience demographics to third-party apps",
        )

    async def fetch_stories(self, token: TokenSet, account_id: str) -> list[Content]:
        return []

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage:
        raise NotImplementedError

    async def fetch_contents(
        self, token: TokenSet, account_id: str, *, since: datetime | None = None, max_items: int | None = None
    ) -> list[Content]:
        """Walk every page (newest first) down to `since`."""
        items: list[Content] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.fetch_content_page(token, account_id, since=since, cursor=cursor)
            items.extend(page.items)
            if max_items is not None and len(items) >= max_items:
                return items[:max_items]
            # A repeated cursor would loop forever; platforms have been known to echo the last one.
            if page.next_cursor is None or page.next_cursor in seen:
                return items
            seen.add(page.next_cursor)
            cursor = page.next_cursor


class OAuth2Connector(BaseConnector):
    """The standard authorization-code and refresh-token grants (TikTok, YouTube, X, Twitch): one
    form POST to `token_url` with the client credentials, answered by a standard token response."""

    @property
    def token_url(self) -> str:
        raise NotImplementedError

    def _client_form(self) -> dict[str, str]:
        return {"client_id": self.config.client_id, "client_secret": self.config.client_secret.get_secret_value()}

    def _token_headers(self) -> dict[str, str]:
        return {}

    def _token_from(self, body: Mapping[str, Any], previous: TokenSet | None) -> TokenSet:
        return oauth_token(body, previous)

    async def _grant(
        self,
        form: Mapping[str, str],
        *,
        context: str,
        token: TokenSet | None = None,
        secrets: tuple[str | None, ...] = (),
        url: str | None = None,
    ) -> Any:
        """POST `form` plus the client credentials to the token endpoint (or `url`)."""
        return await self._call(
            "POST",
            url or self.token_url,
            token=token,
            context=context,
            secrets=secrets,
            headers=self._token_headers(),
            data={**self._client_form(), **form},
        )

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = await self._grant(form, context="exchange", secrets=(code, code_verifier))
        return self._token_from(body, None)

    async def refresh(self, token: TokenSet) -> TokenSet:
        """Without a new refresh token in the answer ours is kept; with one (rotation) it wins."""
        if not token.refresh_token:
            raise self.error(ErrorKind.AUTH_EXPIRED, "no refresh token")
        form = {"grant_type": "refresh_token", "refresh_token": token.refresh_secret() or ""}
        body = await self._grant(form, context="refresh", token=token)
        return self._token_from(body, token)


def older_than(published: datetime | None, since: datetime | None) -> bool:
    return since is not None and published is not None and published < since


def oauth_token(body: Mapping[str, Any], previous: TokenSet | None = None, *, user_id: Any = None) -> TokenSet:
    """A standard OAuth 2 token response. Without a new refresh token the previous one is kept;
    with one (rotation: TikTok, X, Twitch) the newest always wins."""
    refresh = body.get("refresh_token") or (previous.refresh_secret() if previous else None)
    refresh_expires = expires_at(body.get("refresh_expires_in"))
    if refresh_expires is None and previous and not body.get("refresh_token"):
        refresh_expires = previous.refresh_expires_at
    scopes = split_scopes(body.get("scope")) or (previous.scopes if previous else [])
    uid = user_id if user_id is not None else (previous.user_id if previous else None)
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=refresh,
        token_type=str(body.get("token_type") or "bearer"),
        expires_at=expires_at(body.get("expires_in")),
        refresh_expires_at=refresh_expires,
        scopes=scopes,
        user_id=str(uid) if uid is not None else None,
        extras=public_extras(body),
    )
