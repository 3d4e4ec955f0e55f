"""Handles and profile URLs of the six platforms, read into (platform, handle) or (platform, channel id).

Accepted: `@name` and `name` (the platform being known from elsewhere), and profile URLs with or without
scheme, `www.` or `m.`, query, fragment or trailing slash: `instagram.com/name/`, `tiktok.com/@name`,
`youtube.com/@name`, `youtube.com/channel/UC…` (a channel id keeps its case), `x.com/name`,
`twitter.com/name`, `twitch.tv/name`, `facebook.com/name`. Anything else is refused with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from loupe.connectors.platforms import Platform

HOSTS = {
    "instagram.com": Platform.INSTAGRAM,
    "tiktok.com": Platform.TIKTOK,
    "youtube.com": Platform.YOUTUBE,
    "x.com": Platform.TWITTER,
    "twitter.com": Platform.TWITTER,
    "twitch.tv": Platform.TWITCH,
    "facebook.com": Platform.FACEBOOK,
    "fb.com": Platform.FACEBOOK,
}
# What each platform allows in a handle (lower-cased).
HANDLES = {
    Platform.INSTAGRAM: re.compile(r"[a-z0-9._]{1,30}"),
    Platform.TIKTOK: re.compile(r"[a-z0-9._]{2,24}"),
    Platform.YOUTUBE: re.compile(r"[a-z0-9._-]{3,30}"),
    Platform.TWITTER: re.compile(r"[a-z0-9_]{1,15}"),
    Platform.TWITCH: re.compile(r"[a-z0-9_]{3,25}"),
    Platform.FACEBOOK: re.compile(r"[a-z0-9.]{1,50}"),
}
CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
# First path segments that are pages of the platform, not profiles.
NOT_PROFILES = {
    Platform.INSTAGRAM: {"p", "reel", "reels", "tv", "explore", "stories", "accounts", "direct"},
    Platform.TWITTER: {"home", "i", "search", "explore", "hashtag", "intent", "share", "settings", "messages"},
    Platform.TWITCH: {"directory", "videos", "settings", "p", "search"},
    Platform.FACEBOOK: {"pages", "groups", "events", "watch", "profile.php", "share", "marketplace"},
    Platform.TIKTOK: set(),
    Platform.YOUTUBE: set(),
}


class BadHandle(ValueError):
    """Why an input is not a profile of a platform."""


@dataclass(frozen=True)
class ParsedProfile:
    platform: Platform
    handle: str  # lower-cased; for a YouTube channel given by id, the id itself (case kept)
    channel_id: str | None = None  # YouTube `UC…` ids: the platform user id, known from the URL


def parse_profile(raw: str, platform: Platform | None = None) -> ParsedProfile:
    """Reads a handle or a profile URL; a bare handle takes `platform`, a URL names its own."""
    text = raw.strip()
    if not text:
        raise BadHandle("blank")
    if "/" not in text and not _looks_like_host(text):
        if platform is None:
            raise BadHandle("a bare handle needs a platform; give a profile URL instead")
        return _handle(platform, text.removeprefix("@"))
    return _from_url(text)


def _looks_like_host(text: str) -> bool:
    host = text.lower().split("?")[0].removeprefix("www.").removeprefix("m.")
    return host in HOSTS


def _from_url(text: str) -> ParsedProfile:
    parts = urlsplit(text if "//" in text else f"https://{text}")
    if parts.scheme not in ("http", "https"):
        raise BadHandle("not a profile URL (only http and https addresses)")
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    platform = HOSTS.get(host)
    if platform is None:
        raise BadHandle(f"{host or 'this address'} is not one of the six platforms' profile addresses")
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        raise BadHandle(f"the {platform.value} address names no profile")
    first = segments[0]
    if platform is Platform.YOUTUBE:
        if first == "channel" and len(segments) > 1:
            if not CHANNEL_ID.fullmatch(segments[1]):
                raise BadHandle("a YouTube channel id is UC followed by 22 letters, digits, - or _")
            return ParsedProfile(platform, segments[1], channel_id=segments[1])
        if not first.startswith("@"):
            raise BadHandle("a YouTube profile address is youtube.com/@handle or youtube.com/channel/UC…")
    if platform is Platform.TIKTOK and not first.startswith("@"):
        raise BadHandle("a TikTok profile address is tiktok.com/@handle")
    if first.lower() in NOT_PROFILES[platform]:
        raise BadHandle(f"{host}/{first} is a {platform.value} page, not a profile")
    return _handle(platform, first.removeprefix("@"))


def _handle(platform: Platform, name: str) -> ParsedProfile:
    handle = name.strip().lower()
    if platform is Platform.YOUTUBE and CHANNEL_ID.fullmatch(name.strip()):
        return ParsedProfile(platform, name.strip(), channel_id=name.strip())
    if not HANDLES[platform].fullmatch(handle):
        raise BadHandle(f"@{handle} is not a valid {platform.value} handle")
    return ParsedProfile(platform, handle)
