"""From a raw click to the row we store: device / OS / browser, country, referrer host, bot, visitor hash."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from loupe.clicks.bots import bot_reason
from loupe.clicks.events import RawClick
from loupe.clicks.geo import country_of
from loupe.clicks.visitor import visitor_hash

TABLET_HINTS = ("ipad", "tablet", "kindle", "silk/", "playbook")
DESKTOP_OS = {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "FreeBSD", "Fedora", "Debian"}


@dataclass(slots=True)
class Agent:
    device: str  # mobile, tablet, desktop, bot, other
    os: str | None
    browser: str | None


@dataclass(slots=True)
class EnrichedClick:
    raw: RawClick
    at: datetime  # raw.at, made once: the flush reads it three times a click
    country: str | None
    device: str
    os: str | None
    browser: str | None
    referrer_host: str | None
    bot: bool
    bot_reason: str | None
    visitor_hash: str


def _family(value: str | None) -> str | None:
    return None if value in (None, "", "Other") else value


@lru_cache(maxsize=8192)
def parse_agent(user_agent: str, is_bot: bool) -> Agent:
    from ua_parser import parse

    result = parse(user_agent) if user_agent else None
    os_family = _family(result.os.family) if result and result.os else None
    browser = _family(result.user_agent.family) if result and result.user_agent else None
    lowered = user_agent.lower()
    if is_bot:
        device = "bot"
    elif any(hint in lowered for hint in TABLET_HINTS) or ("android" in lowered and "mobile" not in lowered):
        device = "tablet"
    elif "mobi" in lowered or os_family in {"iOS", "Android"}:
        device = "mobile"
    elif os_family in DESKTOP_OS:
        device = "desktop"
    else:
        device = "other"
    return Agent(device, os_family, browser)


def referrer_host(referrer: str) -> str | None:
    if not referrer:
        return None
    try:
        host = urlsplit(referrer.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")[:255]


def enrich(raw: RawClick, salt: bytes | hmac.HMAC) -> EnrichedClick:
    """`salt` is the salt of the click's own UTC day (`visitor.daily_salts`), or its `visitor.keyed` state."""
    reason = bot_reason(raw.user_agent, raw.head)
    agent = parse_agent(raw.user_agent, reason is not None)
    return EnrichedClick(
        raw=raw,
        at=raw.at,
        country=country_of(raw.ip),
        device=agent.device,
        os=agent.os,
        browser=agent.browser,
        referrer_host=referrer_host(raw.referrer),
        bot=reason is not None,
        bot_reason=reason,
        visitor_hash=visitor_hash(salt, raw.ip, raw.user_agent),
    )
