"""Per-platform settings. Every host is a setting so the same code talks to the platforms or the sandbox."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr

META_API_VERSION = "v23.0"


class PlatformConfig(BaseModel):
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    scopes: list[str] = Field(default_factory=list)
    timeout_seconds: float = 30.0

    def url_fields(self) -> list[str]:
        return [name for name in type(self).model_fields if name.endswith("_url")]

    def rebased(self, base_url: str) -> Self:
        """Every host `https://h` becomes `{base_url}/h` (the sandbox's layout)."""
        base = base_url.rstrip("/")
        update: dict[str, str] = {}
        for name in self.url_fields():
            parts = urlsplit(getattr(self, name))
            update[name] = f"{base}/{parts.netloc}{parts.path.rstrip('/')}"
        return self.model_copy(update=update)


class MetaConfig(PlatformConfig):
    api_version: str = META_API_VERSION
    www_url: str = "https://www.facebook.com"
    graph_url: str = "https://graph.facebook.com"
    # Meta's "Require App Secret": sign Graph calls with appsecret_proof.
    appsecret_proof: bool = True


class InstagramConfig(MetaConfig):
    scopes: list[str] = Field(
        default_factory=lambda: [
            "instagram_basic",
            "instagram_manage_insights",
            "pages_show_list",
            "pages_read_engagement",
        ]
    )
    # "facebook": Instagram API with Facebook Login (graph.facebook.com);
    # "instagram": Instagram API with Instagram Login (graph.instagram.com).
    login: Literal["facebook", "instagram"] = "facebook"
    instagram_www_url: str = "https://www.instagram.com"
    instagram_api_url: str = "https://api.instagram.com"
    instagram_graph_url: str = "https://graph.instagram.com"
    instagram_login_scopes: list[str] = Field(
        default_factory=lambda: ["instagram_business_basic", "instagram_business_manage_insights"]
    )


class FacebookConfig(MetaConfig):
    scopes: list[str] = Field(default_factory=lambda: ["pages_show_list", "pages_read_engagement", "read_insights"])


class TikTokConfig(PlatformConfig):
    scopes: list[str] = Field(
        default_factory=lambda: ["user.info.basic", "user.info.profile", "user.info.stats", "video.list"]
    )
    www_url: str = "https://www.tiktok.com"
    api_url: str = "https://open.tiktokapis.com"
    use_pkce: bool = True


class YouTubeConfig(PlatformConfig):
    scopes: list[str] = Field(
        default_factory=lambda: [
            "https://www.googleapis.com/auth/youtube.readonly",
            "https://www.googleapis.com/auth/yt-analytics.readonly",
        ]
    )
    accounts_url: str = "https://accounts.google.com"
    oauth_url: str = "https://oauth2.googleapis.com"
    api_url: str = "https://www.googleapis.com"
    analytics_url: str = "https://youtubeanalytics.googleapis.com"
    use_pkce: bool = True


class TwitterConfig(PlatformConfig):
    scopes: list[str] = Field(default_factory=lambda: ["tweet.read", "users.read", "offline.access"])
    www_url: str = "https://x.com"
    api_url: str = "https://api.x.com"
    # Confidential client: Basic auth on the token endpoint. A public client sends client_id only.
    confidential: bool = True


class TwitchConfig(PlatformConfig):
    scopes: list[str] = Field(default_factory=lambda: ["moderator:read:followers"])
    id_url: str = "https://id.twitch.tv"
    api_url: str = "https://api.twitch.tv"
    force_verify: bool = True


class PlatformsConfig(BaseModel):
    instagram: InstagramConfig = Field(default_factory=InstagramConfig)
    facebook: FacebookConfig = Field(default_factory=FacebookConfig)
    tiktok: TikTokConfig = Field(default_factory=TikTokConfig)
    youtube: YouTubeConfig = Field(default_factory=YouTubeConfig)
    twitter: TwitterConfig = Field(default_factory=TwitterConfig)
    twitch: TwitchConfig = Field(default_factory=TwitchConfig)

    def for_platform(self, platform: str) -> PlatformConfig:
        if platform not in type(self).model_fields:
            raise KeyError(f"unknown platform {platform!r}")
        cfg: PlatformConfig = getattr(self, platform)
        return cfg

    @classmethod
    def for_sandbox(cls, base_url: str, **overrides: PlatformConfig) -> PlatformsConfig:
        """Every host rewritten to `{base_url}/{host}`, sandbox credentials (docs/platform-contract.md)."""
        defaults = cls()
        update: dict[str, PlatformConfig] = {}
        for name in cls.model_fields:
            cfg: PlatformConfig = getattr(defaults, name)
            cfg = cfg.rebased(base_url).model_copy(
                update={
                    "client_id": f"loupe-sandbox-{name}",
                    "client_secret": SecretStr(f"sandbox-secret-{name}"),
                }
            )
            update[name] = overrides.get(name, cfg)
        return cls(**update)
