"""The merge tags of invite emails, rendered by the one renderer (`loupe.messaging.templates`)."""

from __future__ import annotations

from loupe.messaging.templates import MergeTag, MergeTagRegistry

INVITE_TAGS = MergeTagRegistry(
    [
        MergeTag("creator_name", "The invited creator's name."),
        MergeTag("invite_link", "The creator's personal link to connect their accounts."),
        MergeTag("workspace_name", "Your workspace's name."),
    ]
)

DEFAULT_SUBJECT = "{{workspace_name}} invites you to connect your accounts"
DEFAULT_BODY = """Hi {{creator_name}},

{{workspace_name}} would like to work with you. Connect your social accounts here to share your content
and its statistics with us:

{{invite_link}}

The link is personal: please do not forward it.

{{workspace_name}}
"""
SAMPLE_NAME = "Ada Lovelace"
SAMPLE_EMAIL = "ada@example.com"
