"""Bot detection: HEAD requests, link-preview fetchers, then the crawler lists of crawlerdetect."""

from __future__ import annotations

from functools import lru_cache

# Chat and social apps fetch a link to draw its preview card; those are not people clicking. Only
# tokens that their in-app browsers never send: people who open a link inside Snapchat or Viber
# browse with `Mozilla/5.0 … Snapchat/12.x` or `… Viber/21.x`, and they are people.
PREVIEW_FETCHERS = (
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "facebookexternalhit",
    "facebot",
    "meta-externalagent",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "pinterestbot",
    "redditbot",
    "embedly",
    "iframely",
    "vkshare",
    "snap url preview service",
    "bitlybot",
    "google-pagerenderer",
    "applebot",
    "mastodon",
    "bluesky",
    "cardyb",
)
# Apps whose name starts the user agent only when the app itself fetches (not its in-app browser).
PREVIEW_APPS = ("snapchat/", "viber/")


@lru_cache(maxsize=1)
def _crawlers():  # type: ignore[no-untyped-def]
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


def warm_crawler_lists() -> None:
    """Compile crawlerdetect's patterns now (a few hundred ms of CPU): done lazily, it stalled the first
    enrichment, which in the redirect is a spool replay on its event loop."""
    _crawlers().isCrawler("Googlebot/2.1")  # an agent the exclusions leave something of: both lists compile


@lru_cache(maxsize=4096)
def bot_reason(user_agent: str, head: bool) -> str | None:
    """Why this request is a bot (`head`, `preview`, `no_user_agent`, `crawler`), or None for a person."""
    if head:
        return "head"
    lowered = user_agent.strip().lower()
    if not lowered:
        return "no_user_agent"
    if lowered.startswith(PREVIEW_APPS) or any(name in lowered for name in PREVIEW_FETCHERS):
        return "preview"
    if _crawlers().isCrawler(user_agent):
        return "crawler"
    return None
