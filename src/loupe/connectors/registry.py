"""get_connector(): one connector per platform name, sharing the caller's httpx client."""

from __future__ import annotations

from typing import Literal

import httpx

from .base import BaseConnector, Connector
from .config import PlatformsConfig
from .meta.facebook import FacebookConnector
from .meta.instagram import InstagramConnector
from .meta.instagram_login import InstagramLoginConnector
from .models import Platform
from .tiktok import TikTokConnector
from .twitch import TwitchConnector
from .twitter import TwitterConnector
from .youtube import YouTubeConnector


def get_connector(
    platform: str,
    config: PlatformsConfig,
    http: httpx.AsyncClient,
    *,
    instagram_login: Literal["facebook", "instagram"] | None = None,
) -> Connector:
    """Connectors are cheap (no I/O at construction); make one per use or keep one per platform.

    Instagram: `config.instagram.login` (or `instagram_login`) picks Facebook Login (graph.facebook.com)
    or Instagram Login (graph.instagram.com)."""
    connector: BaseConnector
    match Platform(platform):
        case Platform.INSTAGRAM:
            variant = instagram_login or config.instagram.login
            cls = InstagramLoginConnector if variant == "instagram" else InstagramConnector
            connector = cls(config.instagram, http)
        case Platform.FACEBOOK:
            connector = FacebookConnector(config.facebook, http)
        case Platform.TIKTOK:
            connector = TikTokConnector(config.tiktok, http)
        case Platform.YOUTUBE:
            connector = YouTubeConnector(config.youtube, http)
        case Platform.TWITTER:
            connector = TwitterConnector(config.twitter, http)
        case Platform.TWITCH:
            connector = TwitchConnector(config.twitch, http)
    if not isinstance(connector, Connector):
        raise TypeError(f"{type(connector).__name__} does not implement the Connector protocol")
    return connector
