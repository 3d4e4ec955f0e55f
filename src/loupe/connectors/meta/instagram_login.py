"""Instagram API with Instagram Login (graph.instagram.com): no Facebook Page involved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import expires_at, public_extras
from ..config import InstagramConfig
from ..errors import ConnectorError, ErrorKind
from ..models import AuthorizationRequest, Platform, PlatformAccount, Profile, TokenSet, utcnow
from ..oauth import build_authorization, split_scopes
from .instagram_data import InstagramDataMixin

PROFESSIONAL_TYPES = {"BUSINESS", "MEDIA_CREATOR", "CREATOR"}
ME_FIELDS = "user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count"


class InstagramLoginConnector(InstagramDataMixin):
    platform = Platform.INSTAGRAM
    config: InstagramConfig

    @property
    def graph_base(self) -> str:
        return f"{self.config.instagram_graph_url}/{self.config.api_version}"

    def _sign(self) -> bool:
        return False  # appsecret_proof is a graph.facebook.com feature

    def authorization_url(
        self,
        redirect_uri: str,
        *,
        state: str | None = None,
        scopes: list[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest:
        scopes = scopes or self.config.instagram_login_scopes
        params = {
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(scopes),
            **(extra or {}),
        }
        return build_authorization(
            f"{self.config.instagram_www_url}/oauth/authorize",
            params,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
        )

    def _token(self, body: Mapping[str, Any], previous: TokenSet | None = None) -> TokenSet:
        return TokenSet(
            access_token=body["access_token"],
            token_type=str(body.get("token_type") or "bearer"),
            expires_at=expires_at(body.get("expires_in")),
            scopes=previous.scopes if previous else [],
            user_id=previous.user_id if previous else None,
            long_lived=True,
            extras=public_extras(body),
        )

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        body = await self._call(
            "POST",
            f"{self.config.instagram_api_url}/oauth/access_token",
            context="exchange",
            secrets=(code,),
            data={
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret.get_secret_value(),
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code,
            },
        )
        # Documented both as {"data":[{...}]} and as a flat object.
        entry = (body.get("data") or [{}])[0] if isinstance(body.get("data"), list) else body
        return TokenSet(
            access_token=entry["access_token"],
            user_id=str(entry["user_id"]) if entry.get("user_id") is not None else None,
            scopes=split_scopes(entry.get("permissions")),
            expires_at=expires_at(entry.get("expires_in")),
            extras=public_extras(entry),
        )

    async def upgrade_token(self, token: TokenSet) -> TokenSet:
        if token.is_expired():
            raise self.error(ErrorKind.AUTH_EXPIRED, "an expired token cannot be exchanged")
        body = await self._call(
            "GET",
            f"{self.config.instagram_graph_url}/access_token",
            token=token,
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": self.config.client_secret.get_secret_value(),
                "access_token": token.secret(),
            },
        )
        return self._token(body, token)

    async def refresh(self, token: TokenSet) -> TokenSet:
        """60 more days. Meta refuses tokens under 24 h old and expired ones; we do not call for an
        expired token (it cannot succeed) and map a too-early refusal to bad_request (retry later)."""
        if token.is_expired():
            raise self.error(ErrorKind.AUTH_EXPIRED, "an expired Instagram token cannot be refreshed")
        try:
            body = await self._call(
                "GET",
                f"{self.config.instagram_graph_url}/refresh_access_token",
                token=token,
                context="refresh",
                params={"grant_type": "ig_refresh_token", "access_token": token.secret()},
            )
        except ConnectorError as exc:
            young = (utcnow() - token.issued_at).total_seconds() < 24 * 3600
            if young and not exc.needs_reauth and exc.kind is not ErrorKind.RATE_LIMITED:
                exc.kind = ErrorKind.BAD_REQUEST
                exc.message = f"token too young to refresh (under 24 h): {exc.message}"
            raise
        return self._token(body, token)

    async def revoke(self, token: TokenSet) -> None:
        """Instagram Login has no revoke endpoint; the creator removes the app in Instagram settings."""
        return None

    async def me(self, token: TokenSet) -> dict[str, Any]:
        body: dict[str, Any] = await self.graph("me", token, {"fields": ME_FIELDS})
        return body

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        # The token is bound to one account; /me has the fields Instagram Login exposes.
        return self._profile(await self.me(token))

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        me = await self.me(token)
        if str(me.get("account_type") or "").upper() not in PROFESSIONAL_TYPES and me.get("account_type"):
            raise self.error(
                ErrorKind.NOT_PROFESSIONAL_ACCOUNT,
                "Instagram account is personal, not Business/Creator",
                raw=me,
            )
        return [
            PlatformAccount(
                platform=Platform.INSTAGRAM,
                id=str(me.get("user_id") or me.get("id")),
                username=me.get("username"),
                name=me.get("name"),
                picture_url=me.get("profile_picture_url"),
                extras={"account_type": me.get("account_type"), "login": "instagram"},
            )
        ]
