"""Rules checked without a round trip: the creator-session cookie's attributes, and settings built once."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from loupe.config import Environment, Settings
from loupe.connections import creator_session
from loupe.kit.vault import TokenVault, new_key


def cookie_of(env: Environment) -> str:
    vault = TokenVault([new_key()])
    settings = Settings(env=Environment.test).model_copy(update={"env": env})
    response = Response()
    request = Request({"type": "http", "headers": [], "method": "GET", "path": "/"})
    creator_session.remember(response, request, vault, settings, [uuid.uuid4()])
    return response.headers["set-cookie"].lower()


def test_session_cookie_is_httponly_lax_and_secure_outside_development() -> None:
    production = cookie_of(Environment.production)
    assert "httponly" in production and "samesite=lax" in production and "secure" in production
    assert "path=/connect" in production and "max-age=2592000" in production  # 30 days
    assert "secure" not in cookie_of(Environment.development)


def test_platform_settings_are_built_once_per_sandbox_url() -> None:
    settings = Settings(env=Environment.test, sandbox_url="http://127.0.0.1:8100")
    first = settings.platforms_config()
    assert settings.platforms_config() is first
    assert first.tiktok.api_url.startswith("http://127.0.0.1:8100/")
    moved = settings.model_copy(update={"sandbox_url": "http://127.0.0.1:9999"})
    assert moved.platforms_config().tiktok.api_url.startswith("http://127.0.0.1:9999/")
    assert Settings(env=Environment.test).platforms_config().tiktok.api_url == "https://open.tiktokapis.com"
