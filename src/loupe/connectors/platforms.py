"""The six platforms Loupe connects to: the one list that the connectors, the CRM, the database's check
constraints and the sandbox all use."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    TWITTER = "twitter"
    TWITCH = "twitch"


PLATFORMS: tuple[str, ...] = tuple(p.value for p in Platform)
