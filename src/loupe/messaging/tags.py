"""The merge tags of messages to a campaign's creators."""

from __future__ import annotations

from loupe.messaging.templates import MergeTag, MergeTagRegistry

CREATOR_NAME = MergeTag("creator_name", "The creator's name.")
CAMPAIGN_NAME = MergeTag("campaign_name", "The campaign's name.")
TRACKING_LINK = MergeTag(
    "tracking_link",
    "The creator's own URL for the named tracking link (a campaign-level link or one of their creator links).",
    argument="link name",
)
ALL_TRACKING_LINKS = MergeTag(
    "all_tracking_links", "Every live tracking link of the creator in the campaign, one `name: url` per line."
)

CAMPAIGN_MESSAGE_TAGS = MergeTagRegistry([CREATOR_NAME, CAMPAIGN_NAME, TRACKING_LINK, ALL_TRACKING_LINKS])
