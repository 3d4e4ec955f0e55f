"""Trackings: criteria inside a report and the profiles they follow (000_*.txt)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.service import AccountDataService
from loupe.connectors.platforms import Platform
from loupe.influencers.handles import BadHandle, ParsedProfile, parse_profile
from loupe.influencers.service import InfluencerListService, InfluencerService
from loupe.kit.errors import FieldError, NotFound, ValidationFailed
from loupe.kit.jobs import QUEUE_NAME, JobBuffer
from loupe.kit.pagination import PageParams
from loupe.reports.service import ReportService
from loupe.trackings import matching, optin  # noqa: F401  (their receivers act as contents and creators arrive)
from loupe.trackings.analytics import ReportAnalytics, ReportFilters
from loupe.trackings.models import Tracking
from loupe.trackings.repository import ProfileView, TrackedFilters, TrackedRepository, TrackingRepository
from loupe.trackings.schemas import (
    Outcome,
    ProfileOutcome,
    ProfilesAdd,
    RematchQueued,
    TrackedContentRead,
    TrackingCreate,
    TrackingUpdate,
)
from loupe.trackings.terms import BadTerm, normalise_hashtag, normalise_keyword, normalise_mention
from loupe.workspaces.auth import Principal
from loupe.workspaces.service import WorkspaceService

NORMALISERS: dict[str, Callable[[str], str]] = {
    "hashtags": normalise_hashtag,
    "mentions": normalise_mention,
    "keywords": normalise_keyword,
}


def normalise_terms(values: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each kind's terms normalised, duplicates removed (first kept); every bad term named by its place."""
    out: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for kind, raws in values.items():
        terms: list[str] = []
        for index, raw in enumerate(raws):
            try:
                term = NORMALISERS[kind](raw)
            except BadTerm as exc:
                errors.append(FieldError(field=f"body.{kind}.{index}", reason=f"{raw!r}: {exc}"))
                continue
            if term not in terms:
                terms.append(term)
        out[kind] = terms
    if errors:
        raise ValidationFailed(f"{len(errors)} term(s) refused; nothing was saved. See `errors`.", errors=errors)
    return out


def check_span(report_day: date, start: date, end: date | None) -> None:
    if start < report_day:
        raise ValidationFailed.on(
            "body.start_date", f"The start date may not be before the day the report was created ({report_day})."
        )
    if end is not None and end < start:
        raise ValidationFailed.on("body.end_date", f"The end date may not be before the start date ({start}).")


def check_terms(terms: dict[str, list[str]]) -> None:
    if not any(terms.values()):
        raise ValidationFailed.on("body", "Give at least one hashtag, mention or keyword.")


class TrackingService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.reports = ReportService(session, principal)
        self.trackings = TrackingRepository(session, principal.workspace_id)

    async def create(self, report_id: uuid.UUID, data: TrackingCreate) -> Tracking:
        report = await self.reports.get(report_id)
        terms = normalise_terms({"hashtags": data.hashtags, "mentions": data.mentions, "keywords": data.keywords})
        check_terms(terms)
        check_span(report.created_at.date(), data.start_date, data.end_date)
        tracking = Tracking(
            report_id=report.id,
            name=data.name,
            network=data.network.value,
            start_date=data.start_date,
            end_date=data.end_date,
            **terms,
        )
        return await self.trackings.add(tracking)

    async def get(self, tracking_id: uuid.UUID) -> Tracking:
        tracking = await self.trackings.get(tracking_id)
        if tracking is None:
            raise NotFound(f"Tracking {tracking_id} was not found.")
        return tracking

    async def list(self, report_id: uuid.UUID, params: PageParams) -> tuple[builtins.list[Tracking], str | None]:
        report = await self.reports.get(report_id)
        return await self.trackings.list(report.id, params)

    async def update(self, tracking_id: uuid.UUID, data: TrackingUpdate) -> Tracking:
        tracking = await self.get(tracking_id)
        changes = data.model_dump(exclude_unset=True)
        sent = {kind: changes.pop(kind) for kind in NORMALISERS if kind in changes}
        terms = normalise_terms(sent)
        check_terms({kind: terms.get(kind, getattr(tracking, kind)) for kind in NORMALISERS})
        report = await self.reports.get(tracking.report_id)
        start = changes.get("start_date", tracking.start_date)
        end = changes.get("end_date", tracking.end_date)
        if "start_date" in changes or "end_date" in changes:
            check_span(report.created_at.date(), start, end)
        for field, value in {**changes, **terms}.items():
            setattr(tracking, field, value)
        await self.session.flush()
        await self.session.refresh(tracking, ["updated_at"])
        return tracking

    async def delete(self, tracking_id: uuid.UUID) -> None:
        await self.trackings.delete(await self.get(tracking_id))

    async def add_profiles(self, tracking_id: uuid.UUID, data: ProfilesAdd) -> builtins.list[ProfileOutcome]:
        tracking = await self.get(tracking_id)
        if not (data.handles or data.influencer_ids or data.list_ids):
            raise ValidationFailed.on("body", "Give handles, influencer_ids or list_ids.")
        adding = _Additions(tracking, await self.trackings.handles(tracking.id))
        network = Platform(tracking.network)
        parsed: list[tuple[str, ParsedProfile | str]] = []
        for raw in data.handles:
            try:
                parsed.append((raw, parse_profile(raw, network)))
            except BadHandle as exc:
                parsed.append((raw, str(exc)))
        crm = await InfluencerService(self.session, self.principal).profiles_on(
            tracking.network, handles=[p.handle for _, p in parsed if isinstance(p, ParsedProfile)]
        )
        known = {p.handle.lower(): p for p in crm}
        for raw, profile in parsed:
            if isinstance(profile, str):
                adding.invalid(raw, "handle", profile)
            elif profile.platform is not network:
                adding.invalid(raw, "handle", f"a {profile.platform.value} profile; this tracking follows {network}")
            else:
                owner = known.get(profile.handle.lower())
                row = {
                    "handle": profile.handle,
                    "platform_user_id": profile.channel_id or (owner.platform_user_id if owner else None),
                    "influencer_id": owner.influencer_id if owner else None,
                }
                adding.wish(raw, "handle", [row])
        members = await InfluencerListService(self.session, self.principal).members(data.list_ids)
        influencer_ids = list(dict.fromkeys([*data.influencer_ids, *(i for ids in members.values() for i in ids)]))
        found = await InfluencerService(self.session, self.principal).existing_ids(influencer_ids)
        profiles = await InfluencerService(self.session, self.principal).profiles_on(tracking.network, found)
        by_influencer: dict[uuid.UUID, builtins.list[dict[str, Any]]] = {}
        for p in profiles:
            row = {"handle": p.handle, "platform_user_id": p.platform_user_id, "influencer_id": p.influencer_id}
            by_influencer.setdefault(p.influencer_id, []).append(row)
        for influencer_id in data.influencer_ids:
            if influencer_id not in found:
                adding.invalid(str(influencer_id), "influencer", "no influencer of this workspace has this id")
            elif influencer_id not in by_influencer:
                adding.invalid(str(influencer_id), "influencer", f"the influencer has no {network} profile")
            else:
                adding.wish(str(influencer_id), "influencer", by_influencer[influencer_id])
        for list_id in data.list_ids:
            if list_id not in members:
                adding.invalid(str(list_id), "list", "no list of this workspace has this id")
                continue
            rows = [row for member in members[list_id] for row in by_influencer.get(member, [])]
            if not rows:
                adding.invalid(str(list_id), "list", f"no member of the list has a {network} profile")
            else:
                adding.wish(str(list_id), "list", rows)
        inserted = await self.trackings.add_profiles(adding.rows())
        return adding.outcomes(inserted)

    async def profiles(
        self, tracking_id: uuid.UUID, params: PageParams
    ) -> tuple[builtins.list[ProfileView], str | None]:
        tracking = await self.get(tracking_id)
        return await self.trackings.profiles(tracking.id, params)

    async def rematch(self, tracking_id: uuid.UUID, jobs: JobBuffer, arq: ArqRedis) -> RematchQueued:
        tracking = await self.get(tracking_id)
        job_id = f"rematch:{tracking.id}"
        status = await Job(job_id, arq, _queue_name=QUEUE_NAME).status()
        jobs.enqueue("rematch_tracking", job_id=job_id, tracking_id=str(tracking.id))
        return RematchQueued(job_id=job_id, queued=status not in {JobStatus.queued, JobStatus.deferred})

    async def report_summary(self, report_id: uuid.UUID, filters: ReportFilters) -> dict[str, Any]:
        report = await self.reports.get(report_id)
        return await ReportAnalytics(self.session, self.principal.workspace_id).summary(report.id, filters)

    async def report_contents(
        self, report_id: uuid.UUID, filters: ReportFilters, params: PageParams | None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        report = await self.reports.get(report_id)
        return await ReportAnalytics(self.session, self.principal.workspace_id).contents(report.id, filters, params)

    async def invite_link(self, tracking_id: uuid.UUID, base_url: str) -> str:
        tracking = await self.get(tracking_id)
        token = await WorkspaceService(self.session).connect_token(tracking.workspace_id)
        return optin.link(base_url, token, tracking.id)

    async def contents(
        self, tracking_id: uuid.UUID, filters: TrackedFilters, params: PageParams
    ) -> tuple[builtins.list[TrackedContentRead], str | None]:
        tracking = await self.get(tracking_id)
        rows, cursor = await TrackedRepository(self.session, self.principal.workspace_id).page(
            tracking.id, filters, params
        )
        reads = await AccountDataService(self.session, self.principal).reads_of(
            [r.content_id for r in rows if r.content_id], [r.story_id for r in rows if r.story_id]
        )
        items = [
            TrackedContentRead(
                id=r.id,
                tracking_id=r.tracking_id,
                profile_id=r.profile_id,
                matched_terms=r.matched_terms,
                network=r.network,  # type: ignore[arg-type]
                type=r.type,
                published_at=r.published_at,
                content=reads.get(r.content_id or r.story_id),  # type: ignore[arg-type]
            )
            for r in rows
        ]
        return items, cursor

    async def remove_profiles(self, tracking_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]) -> int:
        tracking = await self.get(tracking_id)
        return await self.trackings.remove_profiles(tracking.id, profile_ids)


class _Additions:
    """The inputs of one request, each with what it asks for; handles the tracking has or an earlier input
    of the request asked for are duplicates."""

    def __init__(self, tracking: Tracking, existing: dict[str, uuid.UUID]) -> None:
        self.tracking = tracking
        self.existing = existing
        self.wanted: dict[str, dict[str, Any]] = {}
        self.entries: builtins.list[
            tuple[str, str, builtins.list[str], str | None]
        ] = []  # input, kind, handles, invalid reason

    def invalid(self, raw: str, kind: str, reason: str) -> None:
        self.entries.append((raw, kind, [], reason))

    def wish(self, raw: str, kind: str, rows: builtins.list[dict[str, Any]]) -> None:
        handles = []
        for row in rows:
            key = row["handle"]
            handles.append(key)
            if key not in self.existing and key not in self.wanted:
                self.wanted[key] = {**row, "tracking_id": self.tracking.id, "platform": self.tracking.network}
        self.entries.append((raw, kind, handles, None))

    def rows(self) -> builtins.list[dict[str, Any]]:
        return list(self.wanted.values())

    def outcomes(self, inserted: dict[str, uuid.UUID]) -> builtins.list[ProfileOutcome]:
        seen: set[str] = set()
        results = []
        for raw, kind, handles, reason in self.entries:
            if reason is not None:
                results.append(ProfileOutcome(input=raw, kind=kind, outcome=Outcome.invalid, reason=reason))
                continue
            new = [h for h in handles if h in inserted and h not in seen]
            why = None
            if not new:
                why = "listed earlier in this request" if all(h in seen for h in handles) else "already tracked"
            seen.update(handles)
            ids = [i for h in handles if (i := inserted.get(h) or self.existing.get(h))]
            outcome = Outcome.added if new else Outcome.duplicate
            results.append(ProfileOutcome(input=raw, kind=kind, outcome=outcome, reason=why, profile_ids=ids))
        return results
