from __future__ import annotations

import builtins
import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.influencers import importing
from loupe.influencers.models import Influencer, InfluencerList, InfluencerProfile
from loupe.influencers.repository import InfluencerFilters, InfluencerListRepository, InfluencerRepository
from loupe.influencers.schemas import InfluencerCreate, InfluencerUpdate, ProfileIn
from loupe.kit.errors import FieldError, NotFound, ValidationFailed
from loupe.kit.hooks import Ask
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal

# The workspace's influencers holding an active grant of a healthy connection, as a SELECT of their ids:
# the connections domain answers (it sits above influencers). Unanswered, no influencer is authenticated.
authenticated_influencers: Ask[[uuid.UUID], Any] = Ask("authenticated_influencers", default=None)


class InfluencerService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.influencers = InfluencerRepository(session, principal.workspace_id)

    async def create(self, data: InfluencerCreate) -> Influencer:
        influencer = Influencer(
            name=data.name,
            email=str(data.email) if data.email else None,
            tags=data.tags,
            profiles=[InfluencerProfile(platform=p.platform.value, handle=p.handle) for p in data.profiles],
        )
        return await self.influencers.add(influencer)

    async def get(self, influencer_id: uuid.UUID, *, for_update: bool = False) -> Influencer:
        influencer = await self.influencers.get(influencer_id, for_update=for_update)
        if influencer is None:
            raise NotFound(f"Influencer {influencer_id} was not found.")
        return influencer

    async def list(
        self, params: PageParams, filters: InfluencerFilters
    ) -> tuple[builtins.list[Influencer], str | None]:
        if filters.authenticated is not None:
            ids = await authenticated_influencers(self.influencers.workspace_id)
            filters = dataclasses.replace(filters, authenticated_ids=ids)
        return await self.influencers.list(params, filters)

    async def update(self, influencer_id: uuid.UUID, data: InfluencerUpdate) -> Influencer:
        influencer = await self.get(influencer_id)
        changes = data.model_dump(exclude_unset=True, exclude={"profiles"})
        if "email" in changes and changes["email"] is not None:
            changes["email"] = str(changes["email"])
        for field, value in changes.items():
            setattr(influencer, field, value)
        if data.profiles is not None:
            self._replace_profiles(influencer, data.profiles)
        await self.session.flush()
        await self.session.refresh(influencer, ["profiles", "updated_at"])
        return influencer

    @staticmethod
    def _replace_profiles(influencer: Influencer, wanted: Sequence[ProfileIn]) -> None:
        # Kept profiles keep their id (trackings will refer to them); the others go.
        keys = {(p.platform.value, p.handle) for p in wanted}
        current = {(p.platform, p.handle): p for p in influencer.profiles}
        influencer.profiles = [p for key, p in current.items() if key in keys] + [
            InfluencerProfile(platform=platform, handle=handle) for platform, handle in sorted(keys - current.keys())
        ]

    async def existing_ids(self, influencer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these ids are influencers of the workspace."""
        return await self.influencers.existing_ids(influencer_ids)

    async def ensure_by_email(self, people: Sequence[tuple[str, str]]) -> dict[str, uuid.UUID]:
        """For each (name, email): the workspace's influencer with that email (case-insensitive), or a new one
        with that name and email. Returns lower(email) → influencer id. Two statements, however many people."""
        wanted = {email.lower(): (name, email) for name, email in people}
        found = await self.influencers.ids_by_email(wanted)
        missing = [
            {"id": uuid.uuid4(), "name": name, "email": email, "tags": []}
            for key, (name, email) in wanted.items()
            if key not in found
        ]
        if missing:
            await self.influencers.insert_many(missing)
            found.update({str(row["email"]).lower(): row["id"] for row in missing})  # type: ignore[misc]
        return found

    async def delete(self, influencer_id: uuid.UUID) -> None:
        """What other domains keep of the influencer goes by cascade (their files are trashed by the database,
        see `kit.media`); an influencer with tracking links is refused by their foreign key."""
        # Locked: a story being captured meanwhile is committed first, so it is deleted (and trashed) too.
        influencer = await self.get(influencer_id, for_update=True)
        await self.influencers.delete(influencer)

    async def ensure_profile(self, influencer_id: uuid.UUID, platform: str, handle: str, platform_user_id: str) -> None:
        """The profile a connected account proves: matched by platform user id (the handle follows renames),
        else by handle (the user id is filled in), else added."""
        profiles = await self.influencers.profiles_of(influencer_id, platform)
        same_user = [p for p in profiles if p.platform_user_id == platform_user_id]
        same_handle = [p for p in profiles if p.handle.lower() == handle.lower() and p.platform_user_id is None]
        if same_user:
            if not any(p.handle.lower() == handle.lower() for p in profiles if p not in same_user):
                same_user[0].handle = handle
        elif same_handle:
            same_handle[0].platform_user_id = platform_user_id
        else:
            await self.influencers.add_profile(
                InfluencerProfile(
                    influencer_id=influencer_id, platform=platform, handle=handle, platform_user_id=platform_user_id
                )
            )
        await self.session.flush()

    async def forget_profile(self, influencer_id: uuid.UUID, platform: str, platform_user_id: str) -> None:
        """A platform's data-deletion request: the profiles that account gave us go."""
        await self.influencers.delete_profiles(influencer_id, platform, platform_user_id)

    async def import_csv(self, data: bytes) -> int:
        """All or nothing: every bad line named (emails already in the workspace too), else every row created."""
        rows, sheet = importing.parse(data)
        taken = await self.influencers.ids_by_email([r.email for r in rows if r.email])
        for row in rows:
            if row.email and row.email.lower() in taken:
                sheet.refuse(row.line, "email", "An influencer with this email already exists in the workspace.")
        sheet.raise_errors("influencers")
        for row in rows:
            profiles = [InfluencerProfile(platform=p, handle=h, platform_user_id=uid) for p, h, uid in row.profiles]
            self.session.add(
                Influencer(
                    workspace_id=self.influencers.workspace_id,
                    name=row.name,
                    email=row.email,
                    tags=row.tags,
                    profiles=profiles,
                )
            )
        await self.session.flush()
        return len(rows)

    async def profiles_on(
        self, platform: str, influencer_ids: Iterable[uuid.UUID] = (), handles: Iterable[str] = ()
    ) -> builtins.list[InfluencerProfile]:
        """The workspace's profiles on a platform, of these influencers or with these handles."""
        return await self.influencers.profiles_on(platform, influencer_ids, handles)


class InfluencerListService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.lists = InfluencerListRepository(session, principal.workspace_id)
        self.influencers = InfluencerRepository(session, principal.workspace_id)

    async def create(self, name: str) -> InfluencerList:
        return await self.lists.add(InfluencerList(name=name))

    async def get(self, list_id: uuid.UUID) -> InfluencerList:
        found = await self.lists.get(list_id)
        if found is None:
            raise NotFound(f"List {list_id} was not found.")
        return found

    async def list(self, params: PageParams) -> tuple[builtins.list[tuple[InfluencerList, int]], str | None]:
        return await self.lists.list(params)

    async def size(self, list_id: uuid.UUID) -> int:
        return await self.lists.count(list_id)

    async def rename(self, list_id: uuid.UUID, name: str) -> InfluencerList:
        found = await self.get(list_id)
        found.name = name
        await self.session.flush()
        return found

    async def delete(self, list_id: uuid.UUID) -> None:
        await self.lists.delete(await self.get(list_id))

    async def add_members(self, list_id: uuid.UUID, influencer_ids: Sequence[uuid.UUID]) -> int:
        """Adds many at once; every id must be an influencer of the workspace (each unknown one named)."""
        found = await self.get(list_id)
        wanted = list(dict.fromkeys(influencer_ids))
        known = await self.influencers.existing_ids(wanted)
        missing = [
            FieldError(field=f"body.influencer_ids.{i}", reason="No influencer of this workspace has this id.")
            for i, id_ in enumerate(wanted)
            if id_ not in known
        ]
        if missing:
            raise ValidationFailed(f"{len(missing)} unknown influencer(s); nothing was added.", errors=missing)
        return await self.lists.add_members(found.id, wanted)

    async def remove_members(self, list_id: uuid.UUID, influencer_ids: Sequence[uuid.UUID]) -> int:
        found = await self.get(list_id)
        return await self.lists.remove_members(found.id, list(influencer_ids))

    async def members(self, list_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, builtins.list[uuid.UUID]]:
        """list id → member ids, for the workspace's lists among these (unknown ids are left out)."""
        return await self.lists.members(list_ids)
