"""Our own typed view of what every platform returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .platforms import Platform

OTHERS = "others"


def utcnow() -> datetime:
    return datetime.now(UTC)


class TokenSet(BaseModel):
    """Tokens of one authorisation. SecretStr keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    token_type: str = "bearer"
    expires_at: datetime | None = None  # None = no expiry known (e.g. Meta Page tokens)
    refresh_expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None  # Meta: 90 days after the user's last activity
    issued_at: datetime = Field(default_factory=utcnow)
    scopes: list[str] = Field(default_factory=list)
    user_id: str | None = None  # platform user id when the token response names it (IG, TikTok open_id)
    long_lived: bool = False
    extras: dict[str, Any] = Field(default_factory=dict)  # non-secret fields of the raw response

    def secret(self) -> str:
        return self.access_token.get_secret_value()

    def refresh_secret(self) -> str | None:
        return self.refresh_token.get_secret_value() if self.refresh_token else None

    def is_expired(self, now: datetime | None = None, leeway: timedelta = timedelta(0)) -> bool:
        return self.expires_at is not None and (now or utcnow()) + leeway >= self.expires_at


class AuthorizationRequest(BaseModel):
    """What to redirect the creator to, and what to keep (server-side) until the callback."""

    model_config = ConfigDict(frozen=True)

    url: str
    state: str
    code_verifier: SecretStr | None = None
    redirect_uri: str
    scopes: list[str]


class CallbackResult(BaseModel):
    code: str | None = None
    state: str | None = None
    error: str | None = None  # e.g. access_denied
    error_reason: str | None = None  # Meta: user_denied
    error_description: str | None = None
    granted_scopes: list[str] | None = None  # TikTok `scopes`, Google `scope`

    @property
    def ok(self) -> bool:
        return self.code is not None and self.error is None

    @property
    def denied(self) -> bool:
        return self.error in {"access_denied", "user_denied", "user_cancelled"} or (self.error_reason == "user_denied")


class PlatformAccount(BaseModel):
    """An account an authorisation can read (IG professional account, Page, channel, ...)."""

    platform: Platform
    id: str
    username: str | None = None
    name: str | None = None
    picture_url: str | None = None
    # Facebook Pages: the Page token to use for that Page (no expiry).
    token: TokenSet | None = None
    # Meta: the Page through which an IG account is reachable.
    page_id: str | None = None
    page_name: str | None = None
    # False when the account cannot be connected (a Page without a professional IG account).
    eligible: bool = True
    ineligible_reason: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)


class Profile(BaseModel):
    platform: Platform
    id: str
    username: str | None = None
    display_name: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    url: str | None = None
    website: str | None = None
    followers: int | None = None
    following: int | None = None
    content_count: int | None = None
    verified: bool | None = None
    account_type: str | None = None
    created_at: datetime | None = None
    # Per-platform figures the product keeps: youtube videos/playlists/total_watch_minutes,
    # twitter tweet_count, tiktok likes_count, twitch view_count, ...
    extras: dict[str, Any] = Field(default_factory=dict)


def top_n_with_others(dist: dict[str, float], n: int = 3) -> dict[str, float]:
    """Keep the n largest shares and fold the rest into "others" (computed by us, never the platform)."""
    ranked = sorted(dist.items(), key=lambda kv: (-kv[1], kv[0]))
    head = dict(ranked[:n])
    rest = sum(v for _, v in ranked[n:])
    if rest > 0:
        head[OTHERS] = round(rest, 6)
    return head


def normalise(counts: dict[str, float]) -> dict[str, float]:
    """Counts or percentages -> fractions summing to 1."""
    total = sum(v for v in counts.values() if v > 0)
    if total <= 0:
        return {}
    return {k: round(v / total, 6) for k, v in counts.items() if v > 0}


class Audience(BaseModel):
    """Distributions as fractions (0..1) of the audience; empty when the platform has none."""

    platform: Platform
    account_id: str
    countries: dict[str, float] = Field(default_factory=dict)
    cities: dict[str, float] = Field(default_factory=dict)
    ages: dict[str, float] = Field(default_factory=dict)
    genders: dict[str, float] = Field(default_factory=dict)
    available: bool = True  # False: the platform exposes no demographics (TikTok, X, Twitch, ...)
    note: str | None = None

    def summary(self, n: int = 3) -> Audience:
        """Top-n countries and cities plus "others"; ages and genders stay complete."""
        return self.model_copy(
            update={
                "countries": top_n_with_others(self.countries, n),
                "cities": top_n_with_others(self.cities, n),
            }
        )


class ContentType(StrEnum):
    POST = "post"
    CAROUSEL = "carousel"
    REEL = "reel"
    VIDEO = "video"
    SHORT = "short"
    TWEET = "tweet"
    STREAM = "stream"
    STORY = "story"
    HIGHLIGHT = "highlight"
    CLIP = "clip"


class ContentMetrics(BaseModel):
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    views: int | None = None
    reach: int | None = None
    engagements: int | None = None
    # Anything else the platform reports (quotes, bookmarks, watch time, story navigation, ...).
    extras: dict[str, Any] = Field(default_factory=dict)
    # False when the platform declined to give metrics (e.g. IG story under 5 viewers).
    available: bool = True
    unavailable_reason: str | None = None

    def merged(self, other: ContentMetrics) -> ContentMetrics:
        """Fill our gaps with the other's values (insights complete counts from the listing)."""
        data = self.model_dump()
        for key, value in other.model_dump().items():
            if key == "extras":
                data["extras"] = {**self.extras, **other.extras}
            elif key in ("available", "unavailable_reason"):
                continue
            elif value is not None:
                data[key] = value
        return ContentMetrics(**data)


class ContentMedia(BaseModel):
    """One media file of a content item with several: an Instagram carousel's children."""

    id: str | None = None
    media_type: str | None = None  # the platform's own word (Instagram: IMAGE | VIDEO)
    media_url: str | None = None  # signed CDN URLs expire: copy the bytes promptly
    thumbnail_url: str | None = None  # videos


class Content(BaseModel):
    platform: Platform
    id: str
    account_id: str
    type: ContentType
    text: str | None = None
    title: str | None = None
    permalink: str | None = None
    published_at: datetime | None = None
    media_urls: list[str] = Field(default_factory=list)
    thumbnail_url: str | None = None
    children: list[ContentMedia] = Field(default_factory=list)  # carousel items, in order; empty otherwise
    duration_seconds: float | None = None
    metrics: ContentMetrics | None = None
    extras: dict[str, Any] = Field(default_factory=dict)


class ContentPage(BaseModel):
    items: list[Content]
    next_cursor: str | None = None  # None: last page

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


class RateLimitState(BaseModel):
    """Last rate-limit information the platform sent (headers), parsed."""

    platform: Platform
    observed_at: datetime = Field(default_factory=utcnow)
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    # Meta: highest usage percentage across X-App-Usage / X-Business-Use-Case-Usage.
    usage_percent: float | None = None
    app_usage: dict[str, Any] | None = None
    business_usage: dict[str, Any] | None = None
    retry_after: float | None = None  # seconds, when the headers say how long to wait

    @property
    def exhausted(self) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (
            self.usage_percent is not None and self.usage_percent >= 100
        )
