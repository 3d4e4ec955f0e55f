from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from loupe.connections.models import ConnectionStatus, FailureReason
from loupe.connectors.platforms import Platform
from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema


class ConnectedAccountRead(Schema):
    id: uuid.UUID = Field(description="The connected account as this workspace sees it.")
    influencer_id: uuid.UUID
    influencer_name: str
    influencer_email: str | None
    invite_id: uuid.UUID = Field(description="The invite it was connected through.")
    platform: Platform
    platform_user_id: str = Field(description="The platform's id of the account (YouTube channel ids keep their case).")
    username: str | None
    display_name: str | None
    status: ConnectionStatus = Field(
        description="`active`; `expired` (the platform's authorisation lapsed) or `revoked` (the creator removed "
        "the app at the platform): the creator must reconnect; `disconnected`: the creator disconnected it "
        "from this workspace."
    )
    connected_at: datetime
    access_expires_at: datetime | None = Field(
        description="When access ends unless refreshed or renewed by the creator: the earlier of the token's "
        "expiry and (Meta) the data-access expiry. Null: no known end."
    )
    data_access_expires_at: datetime | None = Field(description="Meta only: 90 days after the creator's last consent.")
    last_refreshed_at: datetime | None = Field(description="When the account's data was last refreshed.")
    disconnected_at: datetime | None
    created_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "4a0e8f7e-9d43-4c8f-8f3f-8d0e2f6b1c22",
                    "influencer_id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "influencer_name": "Ada Lovelace",
                    "influencer_email": "ada@example.com",
                    "invite_id": "5d2c6f0e-8c1b-4e3a-9f4d-2a1b3c4d5e6f",
                    "platform": "instagram",
                    "platform_user_id": "17841400000000001",
                    "username": "ada.creates",
                    "display_name": "Ada Lovelace",
                    "status": "active",
                    "connected_at": "2026-03-01T09:05:00Z",
                    "access_expires_at": "2026-04-30T09:05:00Z",
                    "data_access_expires_at": "2026-05-30T09:05:00Z",
                    "last_refreshed_at": None,
                    "disconnected_at": None,
                    "created_at": "2026-03-01T09:05:00Z",
                }
            ]
        }
    }


class ConnectedAccountPage(Page[ConnectedAccountRead]):
    """A page of connected accounts, newest first."""


class ConnectionFailureRead(Schema):
    id: uuid.UUID
    invite_id: uuid.UUID
    platform: Platform
    reason: FailureReason = Field(
        description="`access_denied` (consent refused or cancelled), `permission_missing`, "
        "`not_professional_account` and `no_linked_page` (Instagram), `no_account` (e.g. no YouTube channel), "
        "`invalid_state`, `state_expired` (over 10 minutes), `limit_reached` (staging plan), `platform_error`."
    )
    message: str = Field(description="What happened, in plain words.")
    created_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "9b1d2c3e-4f50-4a6b-8c7d-1e2f3a4b5c6d",
                    "invite_id": "5d2c6f0e-8c1b-4e3a-9f4d-2a1b3c4d5e6f",
                    "platform": "instagram",
                    "reason": "access_denied",
                    "message": "access_denied: Permissions error",
                    "created_at": "2026-03-01T09:04:00Z",
                }
            ]
        }
    }


class ConnectionFailurePage(Page[ConnectionFailureRead]):
    """A page of failed connection attempts, newest first."""
