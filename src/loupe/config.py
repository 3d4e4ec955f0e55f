"""Settings, read from the environment (prefix LOUPE_) and an optional .env file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from loupe.connectors.config import PlatformsConfig


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SmtpSettings(BaseModel):
    """Where the outbox sends email (LOUPE_SMTP__HOST, …); the default is `loupe dev`'s mail sink."""

    model_config = ConfigDict(populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8025
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(default="Loupe <invites@loupe.localhost>", alias="from")
    starttls: bool = False
    timeout_seconds: float = 10.0


class RateLimitRule(BaseModel):
    """At most `limit` calls in any `seconds`-long window, summed over every worker."""

    limit: int = Field(gt=0)
    seconds: float = Field(gt=0)
    per_endpoint: bool = False  # one window per request path (TikTok counts each endpoint on its own)


def _default_rate_limits() -> dict[str, RateLimitRule]:
    # What one app may call (docs: /work/shared/reference/platform-apis.md; the sandbox enforces the same,
    # sandbox/limits.py). Each counts every HTTP request of the refresh jobs to the platform.
    return {
        # Meta platform (app-level) limit, rolling hour: 200 x daily active users; the sandbox's X-App-Usage
        # denominator is 20,000/h per app (per-user 4,800/h and per-account BUC 4,800/h never bind for a
        # refresh of a few dozen calls a day).
        "instagram": RateLimitRule(limit=20_000, seconds=3600),
        "facebook": RateLimitRule(limit=20_000, seconds=3600),
        # TikTok: 600 requests per 1-minute sliding window per endpoint.
        "tiktok": RateLimitRule(limit=600, seconds=60, per_endpoint=True),
        # YouTube Data API: 10,000 quota units per day per project; list calls cost 1 (counted as 1 each).
        "youtube": RateLimitRule(limit=10_000, seconds=86_400),
        # X: 15-minute windows; /2/users/:id/tweets allows 10,000 per app (per-user limits are far above
        # one refresh a day).
        "twitter": RateLimitRule(limit=10_000, seconds=900),
        # Twitch Helix: an 800-points-per-minute bucket (per client and token; one app-wide bucket here).
        "twitch": RateLimitRule(limit=800, seconds=60),
    }


class RequestLimit(BaseModel):
    """At most `limit` requests of one credential in any `seconds`-long window, over every api process."""

    limit: int = Field(gt=0)
    seconds: int = Field(gt=0)


class ApiLimitSettings(BaseModel):
    """The api's per-credential limits (`kit/throttle.py`); conversions postbacks have their own."""

    enabled: bool = True
    default: RequestLimit = Field(default_factory=lambda: RequestLimit(limit=600, seconds=60))
    conversions: RequestLimit = Field(default_factory=lambda: RequestLimit(limit=6000, seconds=60))


class RateLimitSettings(BaseModel):
    """The per-platform limiter shared by every worker through Redis (`kit/ratelimit.py`)."""

    enabled: bool = True
    rules: dict[str, RateLimitRule] = Field(default_factory=_default_rate_limits)
    max_wait_seconds: float = Field(
        default=30.0, ge=0, description="A call further off than this is retried later (arq Retry) instead."
    )
    margin_seconds: float = Field(
        default=1.0, ge=0, description="Added to every window: calls reach the platform a little after their permit."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOUPE_", env_file=".env", extra="ignore", env_nested_delimiter="__")

    env: Environment = Environment.development
    data_dir: Path = Path(".loupe")
    # Unset URLs mean "start the embedded servers under data_dir".
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # The web app the emailed sign-in links open (verify-email, reset-password, accept-invitation); unset:
    # public_base_url.
    app_base_url: str | None = None
    # Browser frontends allowed to call the API (exact origins, e.g. https://app.example.com).
    cors_origins: list[str] = Field(default_factory=list)
    # Prometheus metrics: on their own listener (then never on the public port), or behind a bearer token;
    # with neither, the public /metrics answers only outside production (kit/metrics.py).
    metrics_port: int | None = Field(default=None, gt=0, lt=65536)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None

    # Platform apps (LOUPE_PLATFORMS__INSTAGRAM__CLIENT_ID, …). With a sandbox URL every platform host
    # is rewritten to the platform sandbox (what `loupe dev` does).
    platforms: PlatformsConfig = Field(default_factory=PlatformsConfig)
    sandbox_url: str | None = None
    # The Meta Webhooks subscription check (`hub.verify_token`) of GET /webhooks/meta; unset: every check fails.
    meta_webhook_verify_token: SecretStr | None = None
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    # Fernet keys encrypting platform tokens at rest, comma-separated: the first encrypts, all decrypt
    # (`loupe tokens rotate` re-encrypts under the first). Required in production; elsewhere a key is
    # generated once into data_dir/token-keys.
    token_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    _sandbox_platforms: tuple[str, PlatformsConfig] | None = PrivateAttr(default=None)

    log_level: str = "INFO"
    log_json: bool = True
    log_colors: bool | None = Field(default=None, description="Colour console logs; unset: when on a terminal.")
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Largest request body accepted.")
    max_anonymous_body_bytes: int = Field(
        default=65_536, gt=0, description="Largest body read from a request without valid credentials."
    )
    media_max_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, description="Largest story media upload accepted (stored under data_dir/media)."
    )
    media_url: str | None = Field(
        default=None, description="Object storage for media (s3://bucket/prefix); unset: data_dir/media."
    )
    media_options: dict[str, str] = Field(
        default_factory=dict,
        description="obstore options of that store, as JSON (endpoint, region, access_key_id, secret_access_key, …).",
        repr=False,
    )
    db_pool_size: int = 10
    db_max_overflow: int = 10
    page_limit_default: int = 50
    page_limit_max: int = 200
    job_timeout_seconds: int = 300
    # Platform calls of the refresh jobs stay under each platform's limits (LOUPE_RATE_LIMITS__MAX_WAIT_SECONDS, …).
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    api_limits: ApiLimitSettings = Field(default_factory=ApiLimitSettings)

    # Clicks and conversions (redirect, buffer, flush, attribution).
    trusted_proxy_header: str | None = Field(
        default=None, description="Header carrying the client IP (e.g. X-Forwarded-For); ignored unless set."
    )
    trusted_proxy_hops: int = Field(default=1, ge=1, description="Proxies we trust that append to that header.")
    attribution_window_days: int = Field(default=30, gt=0)
    click_stream: str = "loupe:clicks"
    click_group: str = "loupe:clicks:flush"
    click_spool_dir: Path | None = Field(default=None, description="Local spool when Redis is down; data_dir/spool.")
    click_redis_timeout_ms: int = Field(default=250, gt=0, description="Bound on every Redis call of the redirect.")
    click_spool_direct_after_ms: int = Field(
        default=3_000,
        ge=0,
        description="How long Redis must have been failing before the redirect's replayer stores spooled clicks "
        "in PostgreSQL itself (which enriches them on its event loop); a shorter blip leaves them on disk for "
        "Redis to take back.",
    )
    click_write_ahead: bool = Field(
        default=True,
        description="Answer a redirect once its click is in the process's local write-ahead log (one write per "
        "turn of the event loop), not once Redis acknowledged it; Redis gets it right after. False: wait for Redis.",
    )
    click_flush_batch: int = Field(
        default=2_000,
        gt=0,
        description="Most clicks a flush stores per transaction (fewer when fewer are waiting). A batch upserts "
        "its roll-up rows per scope, hour and key, not per click: 2,000 cost half as much per click as 500.",
    )
    click_reclaim_idle_ms: int = Field(
        default=30_000, gt=0, description="Pending entries older than this are reclaimed."
    )
    link_cache_fallback_ttl_ms: int = Field(default=500, gt=0, description="Link cache TTL while LISTEN is down.")
    link_cache_max_age_s: int = Field(default=60, gt=0, description="Safety re-read of cached links.")
    redirect_miss_rate: float = Field(
        default=10.0, gt=0, description="Unknown-code answers per second a client address earns back."
    )
    redirect_miss_burst: int = Field(
        default=100, gt=0, description="Unknown-code answers a client address may have at once before 429s."
    )
    redirect_miss_pool_size: int = Field(
        default=1, gt=0, description="PostgreSQL connections for lookups by addresses that missed recently."
    )
    orphan_visit_retention_days: int = Field(
        default=90, gt=0, description="Orphan visits (unknown codes) older than this are deleted daily."
    )
    workspace_erase_after_minutes: int = Field(
        default=60,
        ge=0,
        description="A deleted workspace's data is erased this long after the deletion (work in flight drains "
        "first, and an operator can still undo a mistake).",
    )

    @field_validator("token_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @model_validator(mode="after")
    def _production_needs_urls(self) -> Settings:
        if self.env is Environment.production and (self.database_url is None or self.redis_url is None):
            raise ValueError("LOUPE_DATABASE_URL and LOUPE_REDIS_URL are required in production")
        if self.env is Environment.production and not self.token_keys:
            raise ValueError("LOUPE_TOKEN_KEYS is required in production: generate a key with `loupe tokens new-key`")
        return self

    def platforms_config(self) -> PlatformsConfig:
        """Built once (every refresh and every connect asks): keyed by what it is built from, so a copy of
        these settings with another sandbox URL gets its own."""
        if not self.sandbox_url:
            return self.platforms
        cached = self._sandbox_platforms
        if cached is None or cached[0] != self.sandbox_url:
            cached = self._sandbox_platforms = (self.sandbox_url, PlatformsConfig.for_sandbox(self.sandbox_url))
        return cached[1]

    @property
    def embedded(self) -> bool:
        return self.database_url is None or self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
