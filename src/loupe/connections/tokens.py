"""A connection's tokens in and out of their encrypted columns (the only place that decrypts them)."""

from __future__ import annotations

from typing import Any

from loupe.connections.models import Connection
from loupe.connectors import TokenSet
from loupe.kit.vault import TokenVault


def token_columns(vault: TokenVault, token: TokenSet, user_token: TokenSet | None = None) -> dict[str, Any]:
    """The columns of `token`; `user_token` fills what an account token (a Page's) does not say."""
    user = user_token or token
    refresh = token.refresh_secret()
    return {
        "access_token_enc": vault.encrypt(token.secret()),
        "refresh_token_enc": vault.encrypt(refresh) if refresh else None,
        "token_expires_at": token.expires_at,
        "refresh_expires_at": token.refresh_expires_at,
        "data_access_expires_at": token.data_access_expires_at or user.data_access_expires_at,
        "scopes": token.scopes or user.scopes,
    }


def token_of(vault: TokenVault, connection: Connection) -> TokenSet | None:
    if not connection.access_token_enc:
        return None
    return TokenSet(
        access_token=vault.decrypt(connection.access_token_enc),
        refresh_token=vault.decrypt(connection.refresh_token_enc) if connection.refresh_token_enc else None,
        expires_at=connection.token_expires_at,
        refresh_expires_at=connection.refresh_expires_at,
        data_access_expires_at=connection.data_access_expires_at,
        scopes=list(connection.scopes or []),
        user_id=connection.authorizing_user_id,
        long_lived=connection.platform in ("instagram", "facebook"),
    )
