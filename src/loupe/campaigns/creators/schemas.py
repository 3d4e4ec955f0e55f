from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AliasPath, Field

from loupe.campaigns.creators.models import Stage
from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema


class CreatorsAdd(Schema):
    influencer_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=100,
        description="Influencers of the workspace to add (at most 100). They start at `applied`.",
        examples=[["0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11"]],
    )


class StageMove(Schema):
    stage: Stage = Field(
        description="Target stage. Allowed moves: applied → approved | declined; approved → applied | active | "
        "declined; active → completed | declined; completed → active; declined → applied.",
        examples=["approved"],
    )


class CreatorRead(Schema):
    influencer_id: uuid.UUID
    name: str = Field(validation_alias=AliasPath("influencer", "name"), description="The influencer's name.")
    stage: Stage
    stage_changed_at: datetime
    added_at: datetime = Field(validation_alias="created_at")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "influencer_id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "name": "Ada Lovelace",
                    "stage": "approved",
                    "stage_changed_at": "2026-03-02T09:00:00Z",
                    "added_at": "2026-03-01T09:00:00Z",
                }
            ]
        }
    }


class CreatorsAdded(Schema):
    added: list[CreatorRead] = Field(description="Creators added by this request.")
    duplicates: list[uuid.UUID] = Field(
        description="Influencers not added again: already in the campaign, or listed more than once."
    )


class CreatorPage(Page[CreatorRead]):
    """A page of a campaign's creators, most recently added first."""
