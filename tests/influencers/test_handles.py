"""Handles and profile URLs of the six platforms (issue 10): each form read, anything else refused."""

from __future__ import annotations

import pytest

from loupe.connectors.platforms import Platform
from loupe.influencers.handles import BadHandle, parse_profile

CHANNEL = "UCabcdefghijklmnopqrstuV"


@pytest.mark.parametrize(
    ("raw", "platform", "handle"),
    [
        ("@Ada.Codes", Platform.INSTAGRAM, "ada.codes"),
        ("ada_codes", Platform.TWITTER, "ada_codes"),
        ("instagram.com/ada.codes/", Platform.INSTAGRAM, "ada.codes"),
        ("https://www.instagram.com/Ada.Codes/?hl=en", Platform.INSTAGRAM, "ada.codes"),
        ("http://m.instagram.com/ada.codes#top", Platform.INSTAGRAM, "ada.codes"),
        ("tiktok.com/@ada.codes", Platform.TIKTOK, "ada.codes"),
        ("https://www.tiktok.com/@Ada.Codes?lang=fr", Platform.TIKTOK, "ada.codes"),
        ("youtube.com/@AdaCodes", Platform.YOUTUBE, "adacodes"),
        ("https://m.youtube.com/@adacodes/videos", Platform.YOUTUBE, "adacodes"),
        (f"youtube.com/channel/{CHANNEL}", Platform.YOUTUBE, CHANNEL),
        (f"https://www.youtube.com/channel/{CHANNEL}/", Platform.YOUTUBE, CHANNEL),
        ("x.com/AdaCodes", Platform.TWITTER, "adacodes"),
        ("https://twitter.com/adacodes?s=20", Platform.TWITTER, "adacodes"),
        ("twitch.tv/ada_codes", Platform.TWITCH, "ada_codes"),
        ("https://www.facebook.com/ada.codes/", Platform.FACEBOOK, "ada.codes"),
        ("m.facebook.com/ada.codes", Platform.FACEBOOK, "ada.codes"),
    ],
)
def test_every_form_is_read(raw: str, platform: Platform, handle: str) -> None:
    parsed = parse_profile(raw, Platform.INSTAGRAM if raw.startswith("@Ada") else platform)
    assert (parsed.platform, parsed.handle) == (platform, handle)


def test_a_channel_id_keeps_its_case_and_is_the_user_id() -> None:
    parsed = parse_profile(f"youtube.com/channel/{CHANNEL}")
    assert parsed.handle == CHANNEL and parsed.channel_id == CHANNEL


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "blank"),
        ("ada", "needs a platform"),
        ("example.com/ada", "not one of the six platforms"),
        ("instagram.com/", "names no profile"),
        ("instagram.com/p/Cxyz123/", "not a profile"),
        ("tiktok.com/ada", "tiktok.com/@handle"),
        ("youtube.com/watch?v=abc", "youtube.com/@handle"),
        ("youtube.com/channel/UCshort", "22 letters"),
        ("x.com/search?q=ada", "not a profile"),
        ("ftp://instagram.com/ada", "only http and https"),
        ("x.com/way_too_long_for_x_handles", "not a valid twitter handle"),
    ],
)
def test_anything_else_is_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(BadHandle, match=reason):
        parse_profile(raw)
