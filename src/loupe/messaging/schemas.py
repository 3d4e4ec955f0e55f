from __future__ import annotations

import uuid

from pydantic import Field

from loupe.kit.schemas import Schema


class MessagePreviewRequest(Schema):
    template: str = Field(
        min_length=1,
        max_length=20_000,
        description="Message text with merge tags: {{creator_name}}, {{campaign_name}}, "
        "{{tracking_link:<link name>}}, {{all_tracking_links}}.",
        examples=["Hi {{creator_name}}! Your link: {{tracking_link:Spring sale}}"],
    )
    influencer_id: uuid.UUID = Field(description="A creator of the campaign.")


class MessagePreview(Schema):
    rendered: str = Field(examples=["Hi Ada! Your link: https://go.example.com/l/k3Jx9_aQ"])
