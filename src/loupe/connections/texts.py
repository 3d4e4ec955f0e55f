"""What each platform lets a brand do, and the plain words of every failure, as the creator pages say them."""

from __future__ import annotations

from dataclasses import dataclass

from loupe.connections.models import FailureReason


@dataclass(frozen=True)
class PlatformText:
    name: str
    can: tuple[str, ...]
    cannot: tuple[str, ...] = (
        "post, comment, like or message on your behalf",
        "see your password or private messages",
    )


PLATFORM_TEXTS: dict[str, PlatformText] = {
    "instagram": PlatformText(
        "Instagram",
        (
            "read your profile, follower count and audience (countries, cities, ages, genders)",
            "read your posts, reels and stories with their metrics (reach, views, likes, saves)",
        ),
    ),
    "facebook": PlatformText(
        "Facebook",
        ("read your Page's profile and follower count", "read your Page's posts and their metrics"),
    ),
    "tiktok": PlatformText(
        "TikTok",
        ("read your profile and follower count", "read your public videos with their views, likes and shares"),
    ),
    "youtube": PlatformText(
        "YouTube",
        ("read your channel, its subscribers and playlists", "read your videos with views, likes and watch time"),
    ),
    "twitter": PlatformText(
        "X",
        ("read your profile, follower and post counts", "read your posts and their public metrics"),
    ),
    "twitch": PlatformText(
        "Twitch",
        ("read your channel and follower count", "read your past broadcasts and clips"),
    ),
}

FAILURE_TEXTS: dict[FailureReason, tuple[str, str]] = {
    FailureReason.access_denied: (
        "You did not allow access",
        "No problem: nothing was shared. You can connect again whenever you like.",
    ),
    FailureReason.permission_missing: (
        "Some permissions were not granted",
        "The brand needs every permission listed to measure your content. Connect again and keep them all ticked.",
    ),
    FailureReason.not_professional_account: (
        "Your Instagram account is a personal account",
        "Switch it to a Business or Creator account (Instagram app → Settings → Account type and tools), "
        "link it to a Facebook Page, then connect again.",
    ),
    FailureReason.no_linked_page: (
        "Your Instagram account is not linked to a Facebook Page",
        "Instagram lets apps read professional accounts through a Facebook Page. Link your account to a Page "
        "(Instagram app → Edit profile → Page), then connect again and select that Page.",
    ),
    FailureReason.no_account: (
        "We found no account to connect",
        "The login you used has no account on this platform (for YouTube: no channel). "
        "Create one or log in with another account, then connect again.",
    ),
    FailureReason.invalid_state: (
        "This connection link is no longer valid",
        "It was already used or it was changed. Go back to your invite page and start again.",
    ),
    FailureReason.state_expired: (
        "This connection took too long",
        "For your safety a connection must be finished within 10 minutes. Start again from your invite page.",
    ),
    FailureReason.limit_reached: (
        "This brand cannot connect more accounts yet",
        "Its trial plan allows 25 connected accounts and all of them are in use. Let the brand know; "
        "your accounts were not connected.",
    ),
    FailureReason.platform_error: (
        "The platform did not answer as expected",
        "This is usually temporary. Please try again in a few minutes.",
    ),
}
