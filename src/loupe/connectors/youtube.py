"""YouTube: Google OAuth, Data API v3 (channel, uploads, videos), Analytics API v2 (reports)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from .base import OAuth2Connector, oauth_error_kind, older_than, status_kind
from .config import YouTubeConfig
from .errors import ConnectorError, ErrorKind
from .models import (
    Audience,
    AuthorizationRequest,
    Content,
    ContentMetrics,
    ContentPage,
    ContentType,
    Platform,
    PlatformAccount,
    Profile,
    TokenSet,
    normalise,
    utcnow,
)
from .oauth import build_authorization
from .ratelimit import parse_retry_after, seconds_until_pacific_midnight
from .timeparse import iso_duration_seconds, parse_datetime, to_int

QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"}
# Short-term limits: retry soon (they are not the daily quota).
TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
AUTH_REASONS = {"authError", "expired", "unauthorized"}
PERMISSION_REASONS = {
    "insufficientPermissions",
    "forbidden",
    "accessNotConfigured",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
}
NOT_FOUND_REASONS = {"notFound", "videoNotFound", "channelNotFound", "playlistNotFound"}
AUDIENCE_WINDOW_DAYS = 90
MAX_IDS = 50
SHORT_MAX_SECONDS = 60
SHORTS_TAG = re.compile(r"#shorts\b", re.IGNORECASE)


def google_error_kind(status: int, reasons: list[str]) -> ErrorKind:
    found = set(reasons)
    if found & QUOTA_REASONS:
        return ErrorKind.RATE_LIMITED
    if found & TRANSIENT_REASONS:
        return ErrorKind.TRANSIENT
    if found & AUTH_REASONS or status == 401:
        return ErrorKind.AUTH_EXPIRED
    if found & PERMISSION_REASONS:
        return ErrorKind.PERMISSION_MISSING
    if found & NOT_FOUND_REASONS:
        return ErrorKind.NOT_FOUND
    return status_kind(status)


def age_label(raw: str) -> str:
    """`age18-24` -> `18-24`, `age65-` -> `65+` (the Instagram spelling)."""
    label = raw.removeprefix("age")
    return label[:-1] + "+" if label.endswith("-") else label


def report_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = [h.get("name") for h in body.get("columnHeaders") or []]
    return [dict(zip(names, row, strict=False)) for row in body.get("rows") or []]


class YouTubeConnector(OAuth2Connector):
    platform = Platform.YOUTUBE
    config: YouTubeConfig

    def __init__(self, config: YouTubeConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)
        self._uploads: dict[str, str] = {}  # channel id -> uploads playlist id

    def _error_from(
        self, response: httpx.Response, body: Any, context: str, token: TokenSet | None
    ) -> ConnectorError | None:
        if response.is_success:
            return None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, str):  # token endpoint: {"error":"invalid_grant","error_description":...}
            kind = oauth_error_kind(err, context, token)
            return self.error(
                kind,
                str(body.get("error_description") or err),
                status=response.status_code,
                code=err,
                raw=body,
            )
        if isinstance(err, dict):
            reasons = [str(e.get("reason")) for e in err.get("errors") or [] if e.get("reason")]
            if err.get("status"):
                reasons.append(str(err["status"]))
            kind = google_error_kind(response.status_code, reasons)
            retry = None
            if kind is ErrorKind.RATE_LIMITED:
                # The daily quota comes back at midnight Pacific time.
                retry = parse_retry_after(response.headers) or seconds_until_pacific_midnight()
            return self.error(
                kind,
                str(err.get("message") or "Google API error"),
                status=response.status_code,
                code=reasons[0] if reasons else None,
                raw=body,
                retry_after=retry,
            )
        return self._status_error(response, body)

    # -- OAuth ------------------------------------------------------------------------------------

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
            "scope": " ".join(scopes),
            # offline + consent: Google only returns a refresh token on a consented offline grant.
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            **(extra or {}),
        }
        return build_authorization(
            f"{self.config.accounts_url}/o/oauth2/v2/auth",
            params,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            pkce=self.config.use_pkce,
        )

    # Google keeps the refresh token (no rotation): a refresh answer has none, so ours is kept.
    @property
    def token_url(self) -> str:
        return f"{self.config.oauth_url}/token"

    async def revoke(self, token: TokenSet) -> None:
        # Revoking the refresh token (when there is one) ends the whole grant. Google also accepts
        # ?token=, but a query string ends up in access and httpx logs: send it as a form.
        target = token.refresh_secret() or token.secret()
        await self._call(
            "POST", f"{self.config.oauth_url}/revoke", token=token, context="revoke", data={"token": target}
        )

    # -- data -------------------------------------------------------------------------------------

    async def _get(self, url: str, token: TokenSet, params: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token.secret()}"}
        body: dict[str, Any] = await self._call("GET", url, token=token, params=params, headers=headers)
        return body

    async def _data(self, path: str, token: TokenSet, params: Mapping[str, Any]) -> dict[str, Any]:
        return await self._get(f"{self.config.api_url}/youtube/v3/{path}", token, params)

    async def report(self, token: TokenSet, **params: Any) -> list[dict[str, Any]]:
        """One Analytics report as rows keyed by column name."""
        body = await self._get(f"{self.config.analytics_url}/v2/reports", token, {"ids": "channel==MINE", **params})
        return report_rows(body)

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        body = await self._data("channels", token, {"part": "snippet,statistics,contentDetails", "mine": "true"})
        items = body.get("items") or []
        if not items:
            raise self.error(ErrorKind.NOT_PROFESSIONAL_ACCOUNT, "this Google account has no YouTube channel")
        accounts = []
        for ch in items:
            sn = ch.get("snippet") or {}
            self._remember_uploads(ch)
            accounts.append(
                PlatformAccount(
                    platform=Platform.YOUTUBE,
                    id=str(ch["id"]),
                    username=sn.get("customUrl"),
                    name=sn.get("title"),
                    picture_url=((sn.get("thumbnails") or {}).get("default") or {}).get("url"),
                )
            )
        return accounts

    def _remember_uploads(self, channel: Mapping[str, Any]) -> None:
        uploads = ((channel.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        if uploads:
            self._uploads[str(channel["id"])] = str(uploads)

    async def _channel(self, token: TokenSet, account_id: str) -> dict[str, Any]:
        body = await self._data("channels", token, {"part": "snippet,statistics,contentDetails", "id": account_id})
        items = body.get("items") or []
        if not items:
            raise self.error(ErrorKind.NOT_FOUND, "channel not found")
        self._remember_uploads(items[0])
        channel: dict[str, Any] = items[0]
        return channel

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        """Channel + playlists count + total watch time (Analytics, lifetime)."""
        ch = await self._channel(token, account_id)
        sn, st = ch.get("snippet") or {}, ch.get("statistics") or {}
        playlists = await self._data("playlists", token, {"part": "id", "mine": "true", "maxResults": 1})
        published = parse_datetime(sn.get("publishedAt"))
        extras: dict[str, Any] = {
            "videos_count": to_int(st.get("videoCount")),  # counts arrive as strings
            "playlists_count": to_int((playlists.get("pageInfo") or {}).get("totalResults")),
            "view_count": to_int(st.get("viewCount")),
            "hidden_subscriber_count": bool(st.get("hiddenSubscriberCount", False)),
            "country": sn.get("country"),
        }
        try:
            # One row of lifetime totals (no dimension): a day-by-day report since the channel began was
            # thousands of rows to sum on every refresh.
            totals = await self.report(
                token,
                startDate=(published.date() if published else date(2005, 4, 23)).isoformat(),
                endDate=utcnow().date().isoformat(),
                metrics="estimatedMinutesWatched",
            )
            extras["total_watch_minutes"] = sum(float(r.get("estimatedMinutesWatched") or 0) for r in totals)
        except ConnectorError as exc:
            # Analytics scope may have been left unticked on Google's granular consent screen.
            if exc.kind is not ErrorKind.PERMISSION_MISSING:
                raise
            extras["total_watch_minutes"] = None
        custom = sn.get("customUrl")
        return Profile(
            platform=Platform.YOUTUBE,
            id=str(ch["id"]),
            username=custom,
            display_name=sn.get("title"),
            bio=sn.get("description"),
            avatar_url=((sn.get("thumbnails") or {}).get("default") or {}).get("url"),
            url=f"https://www.youtube.com/{custom}" if custom else f"https://www.youtube.com/channel/{ch['id']}",
            followers=None if st.get("hiddenSubscriberCount") else to_int(st.get("subscriberCount")),
            content_count=to_int(st.get("videoCount")),
            created_at=published,
            extras=extras,
        )

    async def fetch_audience(self, token: TokenSet, account_id: str) -> Audience:
        end = utcnow().date()
        window = {
            "startDate": (end - timedelta(days=AUDIENCE_WINDOW_DAYS)).isoformat(),
            "endDate": end.isoformat(),
        }
        demo = await self.report(token, **window, dimensions="ageGroup,gender", metrics="viewerPercentage")
        countries = await self.report(token, **window, dimensions="country", metrics="views", sort="-views")
        # The city report is refused without `sort` or with maxResults above 250.
        cities = await self.report(token, **window, dimensions="city", metrics="views", sort="-views", maxResults=250)
        ages: dict[str, float] = {}
        genders: dict[str, float] = {}
        for row in demo:
            share = float(row.get("viewerPercentage") or 0)
            ages[age_label(str(row.get("ageGroup")))] = ages.get(age_label(str(row.get("ageGroup"))), 0) + share
            genders[str(row.get("gender"))] = genders.get(str(row.get("gender")), 0) + share
        audience = Audience(
            platform=Platform.YOUTUBE,
            account_id=account_id,
            ages=normalise(ages),
            genders=normalise(genders),
            countries=normalise({str(r["country"]): float(r.get("views") or 0) for r in countries if r.get("country")}),
            cities=normalise({str(r["city"]): float(r.get("views") or 0) for r in cities if r.get("city")}),
        )
        if not (audience.ages or audience.countries):
            return audience.model_copy(update={"available": False, "note": "not enough views for demographics"})
        return audience

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage:
        """uploads playlist -> playlistItems (50 a page) -> videos (statistics, duration)."""
        if account_id not in self._uploads:
            await self._channel(token, account_id)
        if account_id not in self._uploads:
            return ContentPage(items=[])
        params: dict[str, Any] = {
            "part": "snippet,contentDetails",
            "playlistId": self._uploads[account_id],
            "maxResults": min(page_size or MAX_IDS, MAX_IDS),
        }
        if cursor:
            params["pageToken"] = cursor
        body = await self._data("playlistItems", token, params)
        entries = body.get("items") or []
        ids = []
        for item in entries:
            published = parse_datetime((item.get("contentDetails") or {}).get("videoPublishedAt"))
            if not older_than(published, since):
                ids.append(str(item["contentDetails"]["videoId"]))
        videos = await self._videos(token, ids)
        items = [self._video(videos[i], account_id) for i in ids if i in videos]
        done = len(ids) < len(entries) or not body.get("nextPageToken")
        return ContentPage(items=items, next_cursor=None if done else str(body["nextPageToken"]))

    async def _videos(self, token: TokenSet, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), MAX_IDS):
            chunk = ids[i : i + MAX_IDS]
            body = await self._data(
                "videos",
                token,
                {"part": "snippet,statistics,contentDetails", "id": ",".join(chunk), "maxResults": MAX_IDS},
            )
            out.update({str(v["id"]): v for v in body.get("items") or []})
        return out

    def _video(self, v: dict[str, Any], account_id: str) -> Content:
        sn, cd = v.get("snippet") or {}, v.get("contentDetails") or {}
        duration = iso_duration_seconds(cd.get("duration"))
        text = sn.get("description")
        return Content(
            platform=Platform.YOUTUBE,
            id=str(v["id"]),
            account_id=str(sn.get("channelId") or account_id),
            type=video_type(sn, duration),
            title=sn.get("title"),
            text=text,
            permalink=f"https://www.youtube.com/watch?v={v['id']}",
            published_at=parse_datetime(sn.get("publishedAt")),
            thumbnail_url=(
                ((sn.get("thumbnails") or {}).get("high") or (sn.get("thumbnails") or {}).get("default") or {}).get(
                    "url"
                )
            ),
            duration_seconds=duration,
            metrics=video_metrics(v.get("statistics") or {}),
            extras={"tags": sn.get("tags")} if sn.get("tags") else {},
        )

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        videos = await self._videos(token, content_ids)
        return {vid: video_metrics(v.get("statistics") or {}) for vid, v in videos.items()}


def video_type(snippet: Mapping[str, Any], duration: float | None) -> ContentType:
    if snippet.get("liveBroadcastContent") in ("live", "upcoming"):
        return ContentType.STREAM
    # The Data API has no Shorts flag: short duration or a #shorts tag is the usual signal.
    text = f"{snippet.get('title') or ''} {snippet.get('description') or ''}"
    if (duration is not None and 0 < duration <= SHORT_MAX_SECONDS) or SHORTS_TAG.search(text):
        return ContentType.SHORT
    return ContentType.VIDEO


def video_metrics(st: Mapping[str, Any]) -> ContentMetrics:
    """Statistics arrive as strings; likes may be hidden (absent)."""
    return ContentMetrics(
        views=to_int(st.get("viewCount")),
        likes=to_int(st.get("likeCount")),
        comments=to_int(st.get("commentCount")),
        extras={"favorites": to_int(st.get("favoriteCount"))} if st.get("favoriteCount") is not None else {},
    )
