"""Meta Graph plumbing shared by Instagram and Facebook Pages: errors, appsecret_proof, paging,
and the Facebook Login OAuth flow."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from ..base import BaseConnector, expires_at, public_extras
from ..config import MetaConfig
from ..errors import ConnectorError, ErrorKind
from ..models import AuthorizationRequest, TokenSet, utcnow
from ..oauth import build_authorization
from ..ratelimit import META_DEFAULT_RETRY_AFTER, META_POLICY_BLOCK_RETRY_AFTER, parse_meta
from ..timeparse import from_epoch
from .errors import meta_error_kind


def appsecret_proof(access_token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def next_after(body: Mapping[str, Any]) -> str | None:
    """Graph cursor paging: stop when `paging.next` is absent or `cursors.after` is falsy."""
    paging = body.get("paging") or {}
    after = (paging.get("cursors") or {}).get("after")
    if not paging.get("next") or not after:
        return None
    return str(after)


class MetaGraphBase(BaseConnector):
    """Errors and rate limits of any Meta Graph host (graph.facebook.com, graph.instagram.com)."""

    config: MetaConfig

    def __init__(self, config: MetaConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)

    # Subclasses point this at graph.facebook.com or graph.instagram.com.
    @property
    def graph_base(self) -> str:
        return f"{self.config.graph_url}/{self.config.api_version}"

    def _sign(self) -> bool:
        return self.config.appsecret_proof

    def _rate_limit_from(self, headers: httpx.Headers):  # type: ignore[override]
        return parse_meta(self.platform, headers)

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        if response.is_success and not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
            return None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            code, sub = err.get("code"), err.get("error_subcode")
            message = str(err.get("message") or err.get("error_user_msg") or "Graph API error")
        elif isinstance(body, dict) and "error_type" in body:
            # Instagram Login's flat shape: {"error_type","code","error_message"}.
            code, sub, message = body.get("code"), None, str(body.get("error_message") or "")
            if code == 400:
                code = None  # that "code" is the HTTP status, not a Graph code
        else:
            return self._status_error(response, body)
        kind = meta_error_kind(code, sub, message, response.status_code)
        retry = None
        if kind is ErrorKind.RATE_LIMITED:
            retry = META_POLICY_BLOCK_RETRY_AFTER if code == 368 else self._meta_retry_after(response)
        return self.error(kind, message, status=response.status_code, code=code, raw=body, retry_after=retry)

    def _meta_retry_after(self, response: httpx.Response) -> float:
        """The limited answer's own estimate (X-Business-Use-Case-Usage), else our default."""
        state = self._rate_limit_from(response.headers)
        return state.retry_after if state and state.retry_after else META_DEFAULT_RETRY_AFTER

    async def graph(
        self,
        path: str,
        token: TokenSet,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        base: str | None = None,
    ) -> Any:
        """One Graph call with the token as Bearer (kept out of URLs and thus access logs)."""
        query = dict(params or {})
        if self._sign():
            query["appsecret_proof"] = appsecret_proof(token.secret(), self.config.client_secret.get_secret_value())
        url = f"{base or self.graph_base}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {token.secret()}"}
        return await self._call(method, url, token=token, params=query, headers=headers)

    async def graph_pages(
        self, path: str, token: TokenSet, params: Mapping[str, Any], *, max_pages: int = 1000
    ) -> list[dict[str, Any]]:
        """All items of a cursor-paged edge."""
        items: list[dict[str, Any]] = []
        query = dict(params)
        for _ in range(max_pages):
            body = await self.graph(path, token, query)
            items.extend(body.get("data") or [])
            after = next_after(body)
            if after is None:
                break
            query["after"] = after
        return items


class FacebookLoginMixin(MetaGraphBase):
    """Facebook Login (manual flow) + long-lived user tokens, for Instagram and Facebook Pages."""

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
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(scopes),  # Meta wants commas
            **(extra or {}),
        }
        endpoint = f"{self.config.www_url}/{self.config.api_version}/dialog/oauth"
        return build_authorization(endpoint, params, redirect_uri=redirect_uri, scopes=scopes, state=state)

    def _token(self, body: Mapping[str, Any], *, long_lived: bool, scopes: list[str] | None = None) -> TokenSet:
        return TokenSet(
            access_token=body["access_token"],
            token_type=str(body.get("token_type") or "bearer"),
            expires_at=expires_at(body.get("expires_in")),
            scopes=scopes or [],
            long_lived=long_lived,
            extras=public_extras(body),
        )

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        secret = self.config.client_secret.get_secret_value()
        body = await self._call(
            "GET",
            f"{self.graph_base}/oauth/access_token",
            context="exchange",
            secrets=(code,),
            params={
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "client_secret": secret,
                "code": code,
            },
        )
        return self._token(body, long_lived=False)

    async def upgrade_token(self, token: TokenSet) -> TokenSet:
        """Short-lived user token -> ~60-day token (`fb_exchange_token`), then debug_token for
        scopes and data-access expiry."""
        if token.is_expired():
            raise self.error(ErrorKind.AUTH_EXPIRED, "an expired token cannot be exchanged")
        body = await self._call(
            "GET",
            f"{self.graph_base}/oauth/access_token",
            token=token,
            context="upgrade",
            params={
                "grant_type": "fb_exchange_token",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret.get_secret_value(),
                "fb_exchange_token": token.secret(),
            },
        )
        upgraded = self._token(body, long_lived=True, scopes=token.scopes)
        return await self.inspect_token(upgraded)

    async def refresh(self, token: TokenSet) -> TokenSet:
        """Meta has no refresh tokens; a still-valid long-lived token is exchanged again."""
        return await self.upgrade_token(token)

    async def inspect_token(self, token: TokenSet) -> TokenSet:
        """debug_token: granted scopes, expiry and data-access expiry (90 days after last activity)."""
        app_token = f"{self.config.client_id}|{self.config.client_secret.get_secret_value()}"
        body = await self._call(
            "GET",
            f"{self.graph_base}/debug_token",
            token=token,
            secrets=(app_token,),
            params={"input_token": token.secret(), "access_token": app_token},
        )
        data = (body or {}).get("data") or {}
        if data.get("is_valid") is False:
            err = data.get("error") or {}
            kind = meta_error_kind(err.get("code", 190), err.get("subcode"), str(err.get("message", "")), 400)
            raise self.error(kind, str(err.get("message") or "token is not valid"), raw=data)
        update: dict[str, Any] = {}
        if data.get("scopes"):
            update["scopes"] = list(data["scopes"])
        if data.get("data_access_expires_at"):
            update["data_access_expires_at"] = from_epoch(data["data_access_expires_at"])
        if "expires_at" in data:
            # 0 means "never" (Page tokens).
            update["expires_at"] = from_epoch(data["expires_at"]) if data["expires_at"] else None
        if data.get("user_id"):
            update["user_id"] = str(data["user_id"])
        if data.get("issued_at"):
            update["issued_at"] = from_epoch(data["issued_at"]) or utcnow()
        return token.model_copy(update=update)

    async def revoke(self, token: TokenSet) -> None:
        """Remove every permission the user granted to the app (logs the app out of that account)."""
        await self.graph("me/permissions", token, method="DELETE")

    async def pages(self, token: TokenSet) -> list[dict[str, Any]]:
        fields = "id,name,access_token,category,tasks,instagram_business_account"
        return await self.graph_pages("me/accounts", token, {"fields": fields, "limit": 100})
