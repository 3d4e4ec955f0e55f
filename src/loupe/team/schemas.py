from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema
from loupe.people.models import Role
from loupe.people.passwords import MAX_LENGTH

Password = Annotated[
    str, Field(min_length=1, max_length=MAX_LENGTH, description="At least 12 characters, not a common one.")
]


class SignupRequest(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Grace Hopper"])
    email: EmailStr = Field(examples=["grace@brand.example"])
    password: Password


class Accepted(Schema):
    detail: str = Field(examples=["If the address can receive mail, a message is on its way."])


class TokenRequest(Schema):
    token: str = Field(min_length=1, max_length=200, description="The token of the emailed link.")


class LoginRequest(Schema):
    email: EmailStr = Field(examples=["demo@loupe.example"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH, examples=["correct horse battery"])
    workspace_id: uuid.UUID | None = Field(
        default=None, description="The workspace to act in; unset: the first one the person joined."
    )
    cookie: bool = Field(
        default=False,
        description="Set the tokens as HttpOnly cookies instead of returning them (a browser app); writes "
        "then send the returned `csrf_token` in `X-CSRF-Token`.",
    )


class PasswordGrant(Schema):
    """The OAuth 2.0 password grant's form (RFC 6749 §4.3); `scope` and the client's id and secret are
    accepted and unused."""

    grant_type: Literal["password"] = Field(description="Always `password`.")
    username: str = Field(min_length=1, max_length=320, description="The email.", examples=["demo@loupe.example"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class TokenResponse(Schema):
    access_token: str | None = Field(description="`Authorization: Bearer <access_token>`; null with `cookie`.")
    refresh_token: str | None = Field(description="Single use: POST /v1/auth/refresh; null with `cookie`.")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token lives.", examples=[900])
    workspace_id: uuid.UUID | None = Field(description="The workspace the access token acts in (null: none yet).")
    csrf_token: str = Field(description="What cookie-authenticated writes send in `X-CSRF-Token`.")


class RefreshRequest(Schema):
    refresh_token: str | None = Field(
        default=None, max_length=200, description="The last refresh token; unset: the `loupe_refresh` cookie."
    )


class PasswordResetRequest(Schema):
    email: EmailStr


class PasswordResetConfirm(Schema):
    token: str = Field(min_length=1, max_length=200, description="The token of the emailed link.")
    password: Password


class SwitchRequest(Schema):
    workspace_id: uuid.UUID
    cookie: bool = Field(default=False, description="As at sign-in: set the tokens as cookies.")


class MembershipRead(Schema):
    workspace_id: uuid.UUID
    workspace_name: str
    organization_id: uuid.UUID | None
    role: Role


class OrganizationRead(Schema):
    id: uuid.UUID
    name: str
    role: Role = Field(description="The person's role in the organization.")
    created_at: datetime


class MeRead(Schema):
    id: uuid.UUID
    name: str
    email: str
    email_verified: bool
    workspace_id: uuid.UUID | None = Field(description="The workspace this access token acts in.")
    memberships: list[MembershipRead] = Field(description="Every workspace the person reaches, with their role.")
    organizations: list[OrganizationRead]


class SessionRead(Schema):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime = Field(description="Last sign-in or refresh.")
    user_agent: str
    address: str
    workspace_id: uuid.UUID | None
    current: bool = Field(description="The session of the token making this request.")


class SessionPage(Page[SessionRead]):
    """A page of the person's active sessions, newest first."""


class WorkspaceCreate(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Acme Cosmetics"])
    organization_id: uuid.UUID | None = Field(
        default=None, description="An organization you administer, to own the workspace."
    )


class CreatedWorkspace(Schema):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID | None
    role: Role = Field(description="Your role in it: owner.")
    created_at: datetime


class OrganizationCreate(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Northwind Agency"])


class InvitationCreate(Schema):
    email: EmailStr = Field(examples=["teammate@brand.example"])
    role: Role = Field(default=Role.member, description="The role they get; only an owner invites an owner.")


class InvitationRead(Schema):
    id: uuid.UUID
    email: str
    role: Role
    status: Literal["pending", "accepted", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime
    invited_by_person_id: uuid.UUID | None
    invited_by_key_id: uuid.UUID | None


class InvitationPage(Page[InvitationRead]):
    """A page of the workspace's team invitations, newest first."""


class InvitationAccept(Schema):
    token: str = Field(min_length=1, max_length=200, description="The token of the emailed link.")
    name: str | None = Field(default=None, min_length=1, max_length=200, description="New accounts only.")
    password: str | None = Field(
        default=None, min_length=1, max_length=MAX_LENGTH, description="New accounts only: at least 12 characters."
    )


class InvitationAccepted(Schema):
    workspace_id: uuid.UUID
    role: Role
    person_id: uuid.UUID
    created_account: bool = Field(description="True when the invitation made a new account (sign in with it).")


class MemberRead(Schema):
    person_id: uuid.UUID
    name: str
    email: str
    role: Role
    joined_at: datetime


class MemberPage(Page[MemberRead]):
    """The workspace's whole team (never more than one page)."""


class RoleChange(Schema):
    role: Role


class OwnershipTransfer(Schema):
    person_id: uuid.UUID = Field(description="The member who becomes the owner.")


class OrganizationWorkspace(Schema):
    id: uuid.UUID
    name: str


class OrganizationDetail(OrganizationRead):
    workspaces: list[OrganizationWorkspace] = Field(description="Every workspace it owns, oldest first.")


class OrganizationMemberRead(Schema):
    person_id: uuid.UUID
    name: str
    email: str
    role: Role = Field(description="`admin` or `owner`: both administer every workspace of the organization.")
    joined_at: datetime


class OrganizationMemberPage(Page[OrganizationMemberRead]):
    """The organization's people (never more than one page)."""


class OrganizationRoleChange(Schema):
    role: Role = Field(description="`admin` or `owner`.", examples=["admin"])
