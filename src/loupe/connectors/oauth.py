"""OAuth helpers shared by connectors: state, PKCE (S256), authorize URLs, callback parsing."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr

from .models import AuthorizationRequest, CallbackResult


def new_state() -> str:
    return generate_token(32)


def new_code_verifier() -> str:
    # RFC 7636: 43..128 characters from the unreserved set; generate_token uses letters and digits.
    return generate_token(64)


def build_authorization(
    endpoint: str,
    params: Mapping[str, str | None],
    *,
    redirect_uri: str,
    scopes: list[str],
    state: str | None = None,
    pkce: bool = False,
    code_verifier: str | None = None,
) -> AuthorizationRequest:
    """Authorize URL with `state` (generated when not given) and, with pkce, an S256 challenge."""
    state = state or new_state()
    query = [(k, v) for k, v in params.items() if v is not None]
    query.append(("state", state))
    verifier = None
    if pkce:
        verifier = code_verifier or new_code_verifier()
        query += [("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256")]
    return AuthorizationRequest(
        url=add_params_to_uri(endpoint, query),
        state=state,
        code_verifier=SecretStr(verifier) if verifier else None,
        redirect_uri=redirect_uri,
        scopes=scopes,
    )


def split_scopes(raw: object) -> list[str]:
    """`scope` arrives space-separated (OAuth), comma-separated (TikTok) or as an array (Twitch)."""
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(s) for s in raw]
    return [s for s in str(raw).replace(",", " ").split() if s]


def parse_callback(callback: str | Mapping[str, str]) -> CallbackResult:
    """Code/state/error of any platform's redirect.

    Accepts a full callback URL, a bare query string or an already-parsed mapping. Fragments such as
    Meta's `#_=_` (Facebook Login) and `#_` (Instagram Login) are dropped; Instagram has also been
    seen gluing `#_` to the code itself, so that is stripped too.
    """
    if isinstance(callback, str):
        text = callback.strip()
        is_url = "://" in text or text.startswith("/")
        query = urlsplit(text).query if is_url else text.lstrip("?").split("#", 1)[0]
        params = dict(parse_qsl(query, keep_blank_values=True))
    else:
        params = {k: v for k, v in callback.items() if isinstance(v, str)}
    code = params.get("code") or None
    if code is not None:
        code = code.split("#", 1)[0] or None
    error = params.get("error") or None
    error_description = params.get("error_description") or params.get("error_message") or None
    # Meta sometimes reports failures only with error_code/error_message (e.g. 200 "Permissions error").
    if error is None and params.get("error_code"):
        error = f"error_code_{params['error_code']}"
    granted = params.get("scopes", params.get("scope"))
    return CallbackResult(
        code=None if error else code,
        state=params.get("state") or None,
        error=error,
        error_reason=params.get("error_reason") or None,
        error_description=error_description,
        granted_scopes=split_scopes(granted) if granted is not None else None,
    )
