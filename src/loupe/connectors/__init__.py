"""Platform connectors: OAuth and data of Instagram, Facebook Pages, TikTok, YouTube, X and Twitch.

config = PlatformsConfig()                      # real hosts; or PlatformsConfig.for_sandbox(url)
connector = get_connector("tiktok", config, http)  # http: a shared httpx.AsyncClient
auth = connector.authorization_url(redirect_uri)   # keep auth.state / auth.code_verifier server-side
token = await connector.exchange_code(code, redirect_uri, code_verifier)
"""

from . import httplog
from .base import Connector
from .config import (
    FacebookConfig,
    InstagramConfig,
    MetaConfig,
    PlatformConfig,
    PlatformsConfig,
    TikTokConfig,
    TwitchConfig,
    TwitterConfig,
    YouTubeConfig,
)
from .errors import ConnectorError, ErrorKind
from .models import (
    Audience,
    AuthorizationRequest,
    CallbackResult,
    Content,
    ContentMedia,
    ContentMetrics,
    ContentPage,
    ContentType,
    Platform,
    PlatformAccount,
    Profile,
    RateLimitState,
    TokenSet,
    top_n_with_others,
)
from .oauth import parse_callback
from .platforms import PLATFORMS
from .registry import get_connector

httplog.install()

__all__ = [
    "PLATFORMS",
    "Audience",
    "AuthorizationRequest",
    "CallbackResult",
    "Connector",
    "ConnectorError",
    "Content",
    "ContentMedia",
    "ContentMetrics",
    "ContentPage",
    "ContentType",
    "ErrorKind",
    "FacebookConfig",
    "InstagramConfig",
    "MetaConfig",
    "Platform",
    "PlatformAccount",
    "PlatformConfig",
    "PlatformsConfig",
    "Profile",
    "RateLimitState",
    "TikTokConfig",
    "TokenSet",
    "TwitchConfig",
    "TwitterConfig",
    "YouTubeConfig",
    "get_connector",
    "parse_callback",
    "top_n_with_others",
]
