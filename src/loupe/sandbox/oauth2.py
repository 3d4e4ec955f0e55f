"""Token-endpoint logic shared by the OAuth 2 platforms (TikTok, Google, X, Twitch).

Each platform renders the outcome in its own error dialect; the rules live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state import Sandbox, issue_pair
from .tokens import Token, s256


@dataclass
class Outcome:
    token: Token | None = None
    error: str = ""  # invalid_request | invalid_client | invalid_grant | unsupported_grant_type
    detail: str = ""


def check_pkce(challenge: str | None, method: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return True  # PKCE not used on this authorization
    if not verifier:
        return False
    return (s256(verifier) if method == "S256" else verifier) == challenge


def exchange_code(
    sandbox: Sandbox,
    platform: str,
    q: dict[str, str],
    client_id: str,
    lifetime: float,
    refresh_lifetime: float | None,
    want_refresh: bool | None = None,
) -> Outcome:
    code, reason = sandbox.tokens.take_code(q.get("code", ""), sandbox.now())
    if code is None or code.platform != platform:
        return Outcome(
            error="invalid_grant",
            detail={"used": "Authorization code has been used.", "expired": "Authorization code is expired."}.get(
                reason, "Authorization code is invalid."
            ),
        )
    if code.client_id != client_id or code.redirect_uri != q.get("redirect_uri"):
        return Outcome(error="invalid_grant", detail="redirect_uri or client does not match the authorization.")
    if not check_pkce(code.code_challenge, code.challenge_method, q.get("code_verifier")):
        return Outcome(error="invalid_grant", detail="code_verifier does not match the code_challenge.")
    with_refresh = want_refresh if want_refresh is not None else True
    token = issue_pair(
        sandbox,
        platform=platform,
        account_id=code.account_id,
        user_id=code.user_id,
        scopes=code.scopes,
        client_id=client_id,
        lifetime=lifetime,
        refresh_lifetime=refresh_lifetime,
        with_refresh=with_refresh,
    )
    if code.extra.get("access_type") == "offline":
        token.long_lived = True
    return Outcome(token=token)


def refresh(
    sandbox: Sandbox,
    platform: str,
    q: dict[str, str],
    client_id: str,
    lifetime: float,
    rotate: bool,
    refresh_lifetime: float | None = None,
) -> Outcome:
    """Exchange a refresh token. `rotate`: issue a new refresh token and kill the old one (TikTok, X).

    The rotated refresh token lives `refresh_lifetime` when given (TikTok: a fresh 180 days), else out
    the old one's remaining time.
    """
    old = sandbox.tokens.get(q.get("refresh_token"))
    if old is None or old.kind != "refresh" or old.platform != platform or old.client_id != client_id:
        return Outcome(error="invalid_grant", detail="Invalid refresh token.")
    if old.rotated or sandbox.token_problem(old):
        return Outcome(error="invalid_grant", detail="Token has been expired or revoked.")
    if rotate:
        old.rotated = True
    # Rotation: a new refresh token (see above for its lifetime). Otherwise the old one stays.
    remaining = None if old.expires_at is None else old.expires_at - sandbox.now()
    if refresh_lifetime is not None:
        remaining = refresh_lifetime
    token = issue_pair(
        sandbox,
        platform=platform,
        account_id=old.account_id,
        user_id=old.user_id,
        scopes=old.scopes,
        client_id=client_id,
        lifetime=lifetime,
        refresh_lifetime=remaining if rotate else None,
        with_refresh=rotate,
        keep_refresh=None if rotate else old.value,
    )
    return Outcome(token=token)


def bearer_token(sandbox: Sandbox, value: str | None, platform: str) -> tuple[Token | None, str]:
    """(token, "") when usable for data calls, else (token or None, problem)."""
    token = sandbox.tokens.get(value)
    if token is None or token.platform != platform or token.kind == "refresh":
        return None, "invalid"
    problem = sandbox.token_problem(token)
    return token, problem or ""
