from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.days import check_time_zone
from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, NotFound, ValidationFailed
from loupe.kit.hooks import Ask
from loupe.kit.pagination import PageParams
from loupe.kit.security import display_prefix, generate_api_key, hash_api_key
from loupe.people.models import Role
from loupe.people.service import TeamService
from loupe.workspaces.models import ApiKey, Plan, Scope, Workspace
from loupe.workspaces.repository import ApiKeyRepository, CredentialRepository, WorkspaceRepository

# Recording every use would turn each read into a write; a coarse "last used" is enough.
LAST_USED_GRANULARITY = timedelta(minutes=5)
STAGING_CONNECTED_ACCOUNTS = 25

# Answered by loupe.connections (a higher domain): how many accounts are connected to the workspace.
connected_accounts = Ask[[AsyncSession, uuid.UUID], int]("connected_accounts", 0)


class WorkspaceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.workspaces = WorkspaceRepository(session)
        self.credentials = CredentialRepository(session)

    def _keys(self, workspace_id: uuid.UUID) -> ApiKeyRepository:
        return ApiKeyRepository(self.session, workspace_id)

    async def create_workspace(self, name: str, plan: Plan = Plan.staging) -> tuple[Workspace, str]:
        """A new workspace with a first key of every scope but `conversions`; the key is returned once, in
        clear. (A workspace a person creates has no key: they are its owner, see `create_for`.)"""
        workspace = await self.workspaces.add(Workspace(name=name, plan=plan))
        _, secret = await self.create_key(workspace.id, "Default key", [Scope.read, Scope.write, Scope.admin])
        return workspace, secret

    async def create_for(self, person_id: uuid.UUID, name: str, organization_id: uuid.UUID | None = None) -> Workspace:
        """A workspace a person makes: they are its owner (inside their organization, if one is given)."""
        workspace = await self.workspaces.add(Workspace(name=name, plan=Plan.staging, organization_id=organization_id))
        await TeamService(self.session, workspace.id).add(person_id, Role.owner)
        return workspace

    async def many(self, workspace_ids: list[uuid.UUID]) -> dict[uuid.UUID, Workspace]:
        return await self.workspaces.many(workspace_ids)

    async def is_live(self, workspace_id: uuid.UUID) -> bool:
        """Not deleted (a deleted workspace reads as missing everywhere)."""
        return await self.workspaces.get(workspace_id) is not None

    async def get_workspace(self, workspace_id: uuid.UUID) -> Workspace:
        workspace = await self.workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound("Workspace not found.")
        return workspace

    async def delete_workspace(self, workspace_id: uuid.UUID, confirm: str) -> None:
        """Gone for everyone at once (keys, members, connect link, organization); the worker erases its data
        once `workspace_erase_after` has passed (kept that long so work in flight, such as clicks still in the
        stream, drains first, and an operator can still undo a mistake)."""
        workspace = await self.get_workspace(workspace_id)
        if confirm != workspace.name:
            raise ValidationFailed.on("query.confirm", "Type the workspace's exact name to confirm its deletion.")
        await self.workspaces.mark_deleted(workspace, utcnow())
        await TeamService(self.session, workspace_id).disband()

    async def set_time_zone(self, workspace_id: uuid.UUID, time_zone: str) -> Workspace:
        workspace = await self.get_workspace(workspace_id)
        workspace.time_zone = check_time_zone(time_zone)
        await self.session.flush()
        return workspace

    async def by_connect_token(self, token: str) -> Workspace | None:
        return await self.workspaces.by_connect_token(token) if token else None

    async def connect_token(self, workspace_id: uuid.UUID) -> str:
        """The secret of the workspace's connect link, made on first use."""
        workspace = await self.get_workspace(workspace_id)
        if workspace.connect_token:
            return workspace.connect_token
        return await self.workspaces.claim_connect_token(workspace_id, secrets.token_urlsafe(32))

    async def create_key(
        self,
        workspace_id: uuid.UUID,
        name: str,
        scopes: list[Scope],
        *,
        by_person: uuid.UUID | None = None,
        by_key: uuid.UUID | None = None,
    ) -> tuple[ApiKey, str]:
        secret = generate_api_key()
        wanted = {Scope(s) for s in scopes}
        if wanted & {Scope.write, Scope.admin}:
            wanted.add(Scope.read)  # a key that may write may read what it wrote (shown, not only implied)
        key = ApiKey(
            name=name,
            prefix=display_prefix(secret),
            key_hash=hash_api_key(secret),
            scopes=sorted(s.value for s in wanted),
            created_by_person_id=by_person,
            created_by_key_id=by_key,
        )
        return await self._keys(workspace_id).add(key), secret

    async def authenticate(self, secret: str) -> ApiKey | None:
        key = await self.credentials.find_active_by_hash(hash_api_key(secret))
        if key is not None:
            now = utcnow()
            if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
                await self.credentials.touch(key, now, older_than=now - LAST_USED_GRANULARITY)
        return key

    async def list_keys(self, workspace_id: uuid.UUID, params: PageParams) -> tuple[list[ApiKey], str | None]:
        return await self._keys(workspace_id).list(params)

    async def revoke_key(self, workspace_id: uuid.UUID, key_id: uuid.UUID, current_key_id: uuid.UUID | None) -> None:
        key = await self._keys(workspace_id).get(key_id)
        if key is None:
            raise NotFound(f"API key {key_id} was not found.")
        if key.id == current_key_id:
            raise Conflict("A key cannot revoke itself; use another key with the admin scope.")
        key.revoked_at = utcnow()
