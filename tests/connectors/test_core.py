"""Shared pieces: callbacks, time/number parsing, distributions, config, rate-limit headers, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from loupe.connectors import (
    PLATFORMS,
    Connector,
    ConnectorError,
    ErrorKind,
    PlatformsConfig,
    get_connector,
    parse_callback,
    top_n_with_others,
)
from loupe.connectors.base import oauth_error_kind
from loupe.connectors.models import Audience, Platform, normalise
from loupe.connectors.ratelimit import parse_epoch_headers, parse_meta, seconds_until_pacific_midnight
from loupe.connectors.timeparse import (
    iso_duration_seconds,
    parse_datetime,
    to_int,
    twitch_duration_seconds,
)

from .conftest import token


@pytest.mark.parametrize(
    ("url", "code", "state"),
    [
        ("https://app.test/cb/facebook?code=AQB123&state=s1#_=_", "AQB123", "s1"),
        ("https://app.test/cb/instagram?code=IGQ456&state=s2#_", "IGQ456", "s2"),
        ("?code=abc&state=s3", "abc", "s3"),
        ("code=abc%23_&state=s4", "abc", "s4"),  # `#_` glued to the code, percent-encoded
    ],
)
def test_callback_strips_meta_fragments(url: str, code: str, state: str) -> None:
    result = parse_callback(url)
    assert (result.code, result.state, result.ok) == (code, state, True)


def test_callback_meta_user_denied() -> None:
    result = parse_callback(
        "https://app.test/cb?error=access_denied&error_reason=user_denied"
        "&error_description=Permissions+error.&state=s9#_=_"
    )
    assert result.code is None and result.denied and not result.ok
    assert (result.error, result.error_reason, result.error_description, result.state) == (
        "access_denied",
        "user_denied",
        "Permissions error.",
        "s9",
    )


@pytest.mark.parametrize(
    ("query", "error", "scopes"),
    [
        ("code=c&scopes=user.info.basic,video.list&state=s", None, ["user.info.basic", "video.list"]),  # TikTok
        ("error=access_denied&error_description=User+cancelled&state=s", "access_denied", None),  # TikTok
        (
            "code=4/0Ab&scope=https://www.googleapis.com/auth/youtube.readonly&state=s",
            None,
            ["https://www.googleapis.com/auth/youtube.readonly"],
        ),  # Google
        ("error=access_denied&state=s", "access_denied", None),  # Google / X
        (
            "code=c&scope=moderator%3Aread%3Afollowers+user%3Aread%3Aemail&state=s",
            None,
            ["moderator:read:followers", "user:read:email"],
        ),  # Twitch
        (
            "error=redirect_mismatch&error_description=Parameter+redirect_uri+does+not+match&state=s",
            "redirect_mismatch",
            None,
        ),  # Twitch
    ],
)
def test_callback_platform_params(query: str, error: str | None, scopes: list[str] | None) -> None:
    result = parse_callback(
        {k: v for k, v in (p.split("=", 1) for p in query.split("&"))}
        if "%" not in query and "+" not in query
        else query
    )
    assert result.error == error
    assert result.granted_scopes == scopes
    assert result.state == "s"
    assert (result.code is None) == (error is not None)


def test_callback_accepts_parsed_mapping() -> None:
    result = parse_callback({"code": "c#_", "state": "s"})
    assert (result.code, result.state) == ("c", "s")


def test_parse_datetime_shapes() -> None:
    expected = datetime(2024, 6, 17, 19, 39, 18, tzinfo=UTC)
    assert parse_datetime("2024-06-17T19:39:18+0000") == expected  # Meta
    assert parse_datetime("2024-06-17T19:39:18.000Z") == expected  # X
    assert parse_datetime("2024-06-17T21:39:18+02:00") == expected
    assert parse_datetime(1718653158) == expected  # TikTok create_time, seconds
    assert parse_datetime("garbage") is None and parse_datetime(None) is None


def test_durations_and_counts() -> None:
    assert iso_duration_seconds("PT4M13S") == 253
    assert iso_duration_seconds("PT1H") == 3600
    assert iso_duration_seconds("P1DT2S") == 86402
    assert iso_duration_seconds("P0D") == 0
    assert iso_duration_seconds("nonsense") is None
    assert twitch_duration_seconds("3m21s") == 201
    assert twitch_duration_seconds("1h2m3s") == 3723
    assert twitch_duration_seconds("45s") == 45
    assert twitch_duration_seconds("") is None
    assert to_int("12345") == 12345 and to_int("1.0") == 1 and to_int(None) is None and to_int("x") is None


def test_top_n_with_others_is_ours() -> None:
    dist = normalise({"US": 50, "GB": 20, "FR": 15, "DE": 10, "IT": 5})
    assert dist["US"] == 0.5
    top = top_n_with_others(dist, 3)
    assert list(top) == ["US", "GB", "FR", "others"]
    assert top["others"] == pytest.approx(0.15)
    assert top_n_with_others({"US": 1.0}, 3) == {"US": 1.0}  # nothing to fold, no "others"
    summary = Audience(platform=Platform.YOUTUBE, account_id="c", countries=dist, ages={"18-24": 1.0}).summary(2)
    assert summary.countries == {"US": 0.5, "GB": 0.2, "others": pytest.approx(0.3)}
    assert summary.ages == {"18-24": 1.0}


def test_for_sandbox_rewrites_every_host_and_credentials() -> None:
    cfg = PlatformsConfig.for_sandbox("http://127.0.0.1:8100/")
    assert cfg.instagram.graph_url == "http://127.0.0.1:8100/graph.facebook.com"
    assert cfg.instagram.instagram_api_url == "http://127.0.0.1:8100/api.instagram.com"
    assert cfg.instagram.instagram_graph_url == "http://127.0.0.1:8100/graph.instagram.com"
    assert cfg.youtube.analytics_url == "http://127.0.0.1:8100/youtubeanalytics.googleapis.com"
    assert cfg.twitter.www_url == "http://127.0.0.1:8100/x.com"
    assert cfg.twitch.id_url == "http://127.0.0.1:8100/id.twitch.tv"
    for name in PLATFORMS:
        platform_cfg = cfg.for_platform(name)
        assert platform_cfg.client_id == f"loupe-sandbox-{name}"
        assert platform_cfg.client_secret.get_secret_value() == f"sandbox-secret-{name}"
        for field in platform_cfg.url_fields():
            assert getattr(platform_cfg, field).startswith("http://127.0.0.1:8100/"), field
    defaults = PlatformsConfig()
    assert defaults.facebook.graph_url == "https://graph.facebook.com" and defaults.facebook.api_version == "v23.0"
    assert "sandbox-secret" not in repr(cfg)


async def test_registry_gives_every_platform(http: httpx.AsyncClient, config: PlatformsConfig) -> None:
    seen = set()
    for name in PLATFORMS:
        connector = get_connector(name, config, http)
        assert isinstance(connector, Connector)
        assert connector.platform.value == name
        seen.add(type(connector).__name__)
    assert type(get_connector("instagram", config, http, instagram_login="instagram")).__name__ == (
        "InstagramLoginConnector"
    )
    assert len(seen) == 6
    with pytest.raises(ValueError):
        get_connector("myspace", config, http)


def test_meta_usage_headers() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    headers = httpx.Headers(
        {
            "X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25}),
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    "1784": [
                        {
                            "type": "instagram",
                            "call_count": 100,
                            "total_cputime": 25,
                            "total_time": 25,
                            "estimated_time_to_regain_access": 19,
                        }
                    ]
                }
            ),
        }
    )
    state = parse_meta(Platform.INSTAGRAM, headers, now)
    assert state is not None
    assert state.usage_percent == 100 and state.exhausted
    assert state.retry_after == 19 * 60
    assert state.reset_at == now + timedelta(minutes=19)
    assert state.app_usage == {"call_count": 28, "total_time": 25, "total_cputime": 25}
    assert parse_meta(Platform.FACEBOOK, httpx.Headers({}), now) is None


def test_epoch_headers() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    reset = int(now.timestamp()) + 120
    headers = httpx.Headers(
        {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    )
    state = parse_epoch_headers(Platform.TWITTER, headers, "x-rate-limit-", now)
    assert state is not None
    assert (state.limit, state.remaining, state.retry_after) == (900, 0, 120)
    assert state.exhausted


def test_pacific_midnight() -> None:
    # 2026-01-01 07:00 UTC = 23:00 PST: one hour to go.
    assert seconds_until_pacific_midnight(datetime(2026, 1, 1, 7, 0, tzinfo=UTC)) == 3600


def test_connector_error_never_shows_token() -> None:
    tok = token("EAAB-super-secret-token")
    assert "super-secret" not in repr(tok) and "super-secret" not in str(tok.model_dump())
    err = ConnectorError(ErrorKind.AUTH_REVOKED, "instagram", "bad", raw={"error": {"code": 190}})
    assert repr(err).startswith("ConnectorError(kind='auth_revoked'")
    assert str(err) == "instagram: auth_revoked: bad"
    assert err.needs_reauth and not err.retryable


def test_oauth_error_kinds() -> None:
    expired = token(refresh="r", refresh_expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert oauth_error_kind("invalid_grant", "refresh", expired) is ErrorKind.AUTH_EXPIRED
    assert oauth_error_kind("invalid_grant", "refresh", token(refresh="r")) is ErrorKind.AUTH_REVOKED
    assert oauth_error_kind("invalid_grant", "exchange") is ErrorKind.BAD_REQUEST
    assert oauth_error_kind("temporarily_unavailable", "refresh") is ErrorKind.TRANSIENT
    assert oauth_error_kind("invalid_scope", "exchange") is ErrorKind.PERMISSION_MISSING


def test_httpx_log_redaction_keeps_the_rest_of_the_url() -> None:
    from loupe.connectors.httplog import redact_url

    url = "https://graph.facebook.com/v23.0/oauth/access_token?client_id=1&client_secret=s3cr3t&code=AQB"
    assert (
        redact_url(url) == "https://graph.facebook.com/v23.0/oauth/access_token?client_id=1&client_secret=***&code=***"
    )
    assert redact_url("https://g.test/me?fields=id,name") == "https://g.test/me?fields=id,name"
