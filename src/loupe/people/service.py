"""The rules of sign-in: sign-up and email verification, sign-in, rotating refresh tokens, switching
workspace, sessions, password reset; and the rules of a workspace's team (roles, the last owner)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from loupe.kit.outbox import Outbox, OutboxKind
from loupe.kit.pagination import PageParams
from loupe.people import emails
from loupe.people.models import (
    AuthSession,
    Membership,
    Organization,
    OrganizationMember,
    Person,
    PersonToken,
    RefreshToken,
    Role,
    TokenPurpose,
)
from loupe.people.passwords import hash_password, verify_password, weakness
from loupe.people.repository import MembershipRepository, PeopleRepository
from loupe.people.tokens import (
    ACCESS_TTL,
    REFRESH_PREFIX,
    REFRESH_TTL,
    AccessClaims,
    csrf_token,
    digest,
    issue_access,
    new_secret,
)

VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(minutes=30)
WRONG_CREDENTIALS = "The email or the password is wrong."
BAD_LINK = "This link is not valid: it was used already, or it expired."
# Dead credentials are kept this long after they expire or are spent, so a late click still gets BAD_LINK and
# a replayed refresh token still finds its revoked family, then deleted by the worker.
DEAD_CREDENTIAL_RETENTION = timedelta(days=7)


async def purge_dead_credentials(session: AsyncSession) -> dict[str, int]:
    return await PeopleRepository(session).purge_expired(utcnow() - DEAD_CREDENTIAL_RETENTION)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    workspace_id: uuid.UUID | None
    session_id: uuid.UUID
    csrf_token: str
    person_id: uuid.UUID


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, kept on its session so the person recognises it in the list."""

    user_agent: str = ""
    address: str = ""


class RefreshReused(Unauthorized):
    """An old refresh token came back: someone holds a copy. Its whole session was revoked (commit that)."""


class PeopleService:
    def __init__(
        self, session: AsyncSession, keys: Sequence[bytes] = (), outbox: Outbox | None = None, app_url: str = ""
    ) -> None:
        """`keys` sign access tokens (needed to sign in, refresh and switch); `outbox` sends the emails."""
        self.session = session
        self.keys = keys
        self.people = PeopleRepository(session)
        self.outbox = outbox
        self.app_url = app_url.rstrip("/")

    # -- sign-up and verification ----------------------------------------------------------------------------
    @staticmethod
    async def signup_hash(email: str, password: str) -> str:
        """The request's share of a sign-up: the password checked and hashed, the same work for any email. The
        account is looked up and made by the worker (`finish_signup`), so the answer's time tells nothing."""
        reason = weakness(password, email)
        if reason:
            raise ValidationFailed.on("body.password", reason)
        return await hash_password(password)

    async def finish_signup(self, name: str, email: str, password_hash: str) -> bool:
        """A new person gets a verification email, an existing one a note that they already have an account.
        True when an account was made."""
        existing = await self.people.by_email(email)
        if existing is not None:
            await self._send(emails.already_registered(existing.email, f"{self.app_url}/reset-password"))
            return False
        person = await self.people.add(Person(name=name, email=email, password_hash=password_hash))
        token = await self._token(person, TokenPurpose.verify_email, VERIFY_TTL)
        await self._send(emails.verify_email(email, name, f"{self.app_url}/verify-email?token={token}", token))
        return True

    async def verify_email(self, token: str) -> Person:
        found = await self._spend(token, TokenPurpose.verify_email)
        person = await self._person(found.person_id)
        person.email_verified_at = person.email_verified_at or utcnow()
        return person

    # -- sign-in, refresh, switch, sign-out ------------------------------------------------------------------
    async def login(self, email: str, password: str, workspace_id: uuid.UUID | None, client: Client) -> Tokens:
        person = await self.people.by_email(email)
        if not await verify_password(password, person.password_hash if person else None) or person is None:
            raise Unauthorized(WRONG_CREDENTIALS)
        if person.email_verified_at is None:
            raise Forbidden("Confirm your email first: follow the link we sent when you signed up.")
        workspace_id = await self._workspace_for(person.id, workspace_id)
        now = utcnow()
        auth = await self.people.add(
            AuthSession(
                person_id=person.id,
                workspace_id=workspace_id,
                user_agent=client.user_agent[:400],
                address=client.address[:64],
                created_at=now,
                last_used_at=now,
                expires_at=now + REFRESH_TTL,
            )
        )
        return await self._issue(auth, now)

    async def refresh(self, refresh_token: str) -> Tokens:
        now = utcnow()
        found = await self.people.claim_refresh(digest(refresh_token)) if refresh_token else None
        auth = await self.people.get_session(found.session_id) if found else None
        if found is None or auth is None or auth.revoked_at is not None or auth.expires_at <= now:
            raise Unauthorized("The refresh token is not valid; sign in again.")
        if found.used_at is not None:
            auth.revoked_at = now  # the whole family: the thief's copies and the person's own
            raise RefreshReused("This refresh token was already used; the session is revoked. Sign in again.")
        found.used_at = now
        if auth.workspace_id and await self.people.role_in(auth.person_id, auth.workspace_id) is None:
            auth.workspace_id = None  # removed from the team since: the session goes on without it
        return await self._issue(auth, now)

    async def switch(self, session_id: uuid.UUID, workspace_id: uuid.UUID) -> Tokens:
        auth = await self.active_session(session_id)
        if await self.people.role_in(auth.person_id, workspace_id) is None:
            raise NotFound(f"Workspace {workspace_id} was not found among yours.")
        auth.workspace_id = workspace_id
        return await self._issue(auth, utcnow(), replaces_refresh=True)

    async def logout(self, refresh_token: str) -> AuthSession | None:
        """Ends the session the token belongs to, used or not, and returns it if it was live; an unknown
        token, or one of a session already ended, changes nothing."""
        found = await self.people.claim_refresh(digest(refresh_token)) if refresh_token else None
        if found is None:
            return None
        auth = await self.people.get_session(found.session_id)
        if auth is None or auth.revoked_at is not None:
            return None
        auth.revoked_at = utcnow()
        return auth

    async def active_session(self, session_id: uuid.UUID) -> AuthSession:
        auth = await self.people.get_session(session_id)
        if auth is None or auth.revoked_at is not None or auth.expires_at <= utcnow():
            raise Unauthorized("This session has ended; sign in again.")
        return auth

    async def caller(self, claims: AccessClaims) -> Role | None:
        """The role an access token carries now (None without a workspace); 401 once its session ended or
        its person left the workspace."""
        await self.active_session(claims.session_id)
        if claims.workspace_id is None:
            return None
        role = await self.people.role_in(claims.person_id, claims.workspace_id)
        if role is None:
            raise Unauthorized("You are no longer a member of this workspace; switch to another.")
        return role

    # -- sessions --------------------------------------------------------------------------------------------
    async def sessions(self, person_id: uuid.UUID, params: PageParams) -> tuple[list[AuthSession], str | None]:
        return await self.people.active_sessions(person_id, utcnow(), params)

    async def revoke_session(self, person_id: uuid.UUID, session_id: uuid.UUID) -> uuid.UUID | None:
        """Ends one live session of the person's; the workspace it acted in, if any."""
        auth = await self.people.get_session(session_id)
        if auth is None or auth.person_id != person_id or auth.revoked_at is not None:
            raise NotFound(f"Session {session_id} was not found.")
        auth.revoked_at = utcnow()
        return auth.workspace_id

    # -- password reset --------------------------------------------------------------------------------------
    async def request_reset(self, email: str) -> None:
        """Emails a single-use link valid 30 minutes (run by the worker: see team.jobs); an unknown email gets
        nothing."""
        person = await self.people.by_email(email)
        if person is None:
            return
        await self.people.spend_tokens(person.id, TokenPurpose.password_reset, utcnow())
        token = await self._token(person, TokenPurpose.password_reset, RESET_TTL)
        await self._send(
            emails.password_reset(person.email, person.name, f"{self.app_url}/reset-password?token={token}", token)
        )

    async def confirm_reset(self, token: str, password: str) -> None:
        """Sets the new password and ends every session: whoever knew the old one is signed out."""
        found = await self._spend(token, TokenPurpose.password_reset)
        person = await self._person(found.person_id)
        reason = weakness(password, person.email)
        if reason:
            raise ValidationFailed.on("body.password", reason)
        person.password_hash = await hash_password(password)
        person.email_verified_at = person.email_verified_at or utcnow()  # the link proved the mailbox
        await self.people.revoke_sessions(person.id, utcnow())

    # -- who a person is -------------------------------------------------------------------------------------
    async def person(self, person_id: uuid.UUID) -> Person:
        return await self._person(person_id)

    async def by_email(self, email: str) -> Person | None:
        return await self.people.by_email(email)

    async def workspaces_of(self, person_id: uuid.UUID) -> dict[uuid.UUID, Role]:
        return await self.people.workspaces_of(person_id)

    async def role_in(self, person_id: uuid.UUID, workspace_id: uuid.UUID) -> Role | None:
        return await self.people.role_in(person_id, workspace_id)

    async def organizations_of(self, person_id: uuid.UUID) -> list[tuple[Organization, Role]]:
        return await self.people.organizations_of(person_id)

    async def create_organization(self, person_id: uuid.UUID, name: str) -> Organization:
        organization = await self.people.add(Organization(name=name))
        await self.people.add(OrganizationMember(organization_id=organization.id, person_id=person_id, role=Role.owner))
        return organization  # type: ignore[no-any-return]

    async def administers(self, person_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        role = await self.people.organization_role(person_id, organization_id)
        return role is not None and role.at_least(Role.admin)

    async def ensure_verified(self, email: str, name: str, password: str) -> Person:
        """A verified person with this password (the demo's owner): made, or their password set again."""
        person = await self.people.by_email(email)
        password_hash = await hash_password(password)
        if person is None:
            person = await self.people.add(Person(name=name, email=email, password_hash=password_hash))
        person.password_hash = password_hash
        person.email_verified_at = person.email_verified_at or utcnow()
        return person

    async def join(self, email: str, name: str | None, password: str | None) -> tuple[Person, bool]:
        """The person an accepted invitation adds: the one with that email, or a new, verified account (the
        emailed link proved the mailbox). Returns (person, created)."""
        person = await self.people.by_email(email)
        if person is not None:
            return person, False
        if not name:
            raise ValidationFailed.on("body.name", "A new account needs a name.")
        reason = weakness(password or "", email)
        if reason:
            raise ValidationFailed.on("body.password", reason)
        person = Person(name=name, email=email, password_hash=await hash_password(password or ""))
        person.email_verified_at = utcnow()
        return await self.people.add(person), True

    # -- helpers ---------------------------------------------------------------------------------------------
    async def _workspace_for(self, person_id: uuid.UUID, wanted: uuid.UUID | None) -> uuid.UUID | None:
        reachable = await self.people.workspaces_of(person_id)
        if wanted is not None:
            if wanted not in reachable:
                raise ValidationFailed.on("body.workspace_id", "You are not a member of this workspace.")
            return wanted
        return next(iter(reachable), None)  # the first joined (memberships come oldest first)

    async def _issue(self, auth: AuthSession, now: datetime, *, replaces_refresh: bool = False) -> Tokens:
        if replaces_refresh:
            await self.people.spend_refresh(auth.id, now)
        secret, secret_hash = new_secret(REFRESH_PREFIX)
        await self.people.add(RefreshToken(session_id=auth.id, token_hash=secret_hash, created_at=now))
        auth.last_used_at = now
        access = issue_access(self.keys, AccessClaims(auth.person_id, auth.id, auth.workspace_id), now)
        return Tokens(
            access_token=access,
            refresh_token=secret,
            expires_in=int(ACCESS_TTL.total_seconds()),
            workspace_id=auth.workspace_id,
            session_id=auth.id,
            csrf_token=csrf_token(self.keys, auth.id),
            person_id=auth.person_id,
        )

    async def _token(self, person: Person, purpose: TokenPurpose, ttl: timedelta) -> str:
        secret, secret_hash = new_secret()
        now = utcnow()
        await self.people.add(
            PersonToken(
                person_id=person.id, purpose=purpose, token_hash=secret_hash, created_at=now, expires_at=now + ttl
            )
        )
        return secret

    async def _spend(self, token: str, purpose: TokenPurpose) -> PersonToken:
        found = await self.people.claim_token(digest(token), purpose) if token else None
        now = utcnow()
        if found is None or found.used_at is not None or found.expires_at <= now:
            raise ValidationFailed.on("body.token", BAD_LINK)
        found.used_at = now
        return found

    async def _person(self, person_id: uuid.UUID) -> Person:
        person = await self.people.get(person_id)
        if person is None:
            raise NotFound("Person not found.")
        return person

    async def _send(self, payload: dict[str, Any]) -> None:
        if self.outbox is not None:
            await self.outbox.add(None, OutboxKind.email, [payload])


class TeamService:
    """The members of one workspace and the rules of their roles: admins manage the team; only an owner makes
    or unmakes an owner; the last owner can neither leave nor be demoted."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.members = MembershipRepository(session, workspace_id)

    async def list(self) -> builtins.list[tuple[Membership, Person]]:
        return await self.members.list()

    async def add(self, person_id: uuid.UUID, role: Role) -> Membership:
        """Joins the team, or keeps the higher of the two roles when already in it."""
        current = await self.members.get(person_id, lock=True)
        if current is None:
            return await self.members.add(person_id, role)
        if role.rank > Role(current.role).rank:
            current.role = role
        return current

    async def change_role(self, person_id: uuid.UUID, role: Role, actor_role: Role | None) -> Membership:
        membership = await self._member(person_id)
        self._may_touch(Role(membership.role), role, actor_role)
        if membership.role is Role.owner and role is not Role.owner:
            await self._not_last_owner(person_id)
        membership.role = role
        return membership

    async def remove(self, person_id: uuid.UUID, actor_role: Role | None, *, may_remove_others: bool) -> None:
        membership = await self._member(person_id)
        if not may_remove_others:
            raise Forbidden("Only an admin removes someone else from the team; anyone may leave it.")
        self._may_touch(Role(membership.role), Role(membership.role), actor_role)
        if membership.role is Role.owner:
            await self._not_last_owner(person_id)
        await self.members.remove(person_id)

    async def transfer_ownership(self, owner_id: uuid.UUID, to: uuid.UUID) -> Membership:
        """Another member becomes an owner and the one handing over stays as an admin, in one step (so there
        is always an owner). Both rows are locked in person-id order: two crossed transfers cannot deadlock."""
        if owner_id == to:
            raise ValidationFailed.on("body.person_id", "Hand the workspace to someone else: you own it already.")
        rows = {p: await self._member(p) for p in sorted((owner_id, to))}
        if rows[owner_id].role is not Role.owner:
            raise Forbidden("Only an owner hands over ownership.")
        rows[to].role = Role.owner
        rows[owner_id].role = Role.admin
        return rows[to]

    async def disband(self) -> None:
        """Everyone leaves (the workspace is being deleted): their tokens for it stop working at once."""
        await self.members.remove_all()

    async def _member(self, person_id: uuid.UUID) -> Membership:
        membership = await self.members.get(person_id, lock=True)
        if membership is None:
            raise NotFound(f"Member {person_id} was not found.")
        return membership

    @staticmethod
    def _may_touch(current: Role, wanted: Role, actor_role: Role | None) -> None:
        if Role.owner in (current, wanted) and actor_role is not Role.owner:
            raise Forbidden("Only an owner may make, demote or remove an owner.")

    async def _not_last_owner(self, person_id: uuid.UUID) -> None:
        if not [owner for owner in await self.members.owners() if owner != person_id]:
            raise Conflict("The last owner cannot leave or be demoted; make someone else an owner first.")
