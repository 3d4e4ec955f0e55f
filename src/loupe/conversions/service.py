"""The conversion rules: idempotent on (workspace, external id), attributed to a known click of the
workspace within the attribution window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.config import Settings
from loupe.conversions.models import Conversion
from loupe.conversions.repository import ConversionRepository
from loupe.conversions.schemas import ConversionCreate
from loupe.kit.errors import Conflict, ValidationFailed
from loupe.workspaces.auth import Principal


def _same(existing: Conversion, body: ConversionCreate) -> bool:
    return (existing.click_id, existing.event, existing.value, existing.currency) == (
        body.click_id,
        body.event,
        body.value,
        body.currency,
    )


class ConversionService:
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        settings: Settings,
        flush_buffered_clicks: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.conversions = ConversionRepository(session, principal.workspace_id)
        self.window = timedelta(days=settings.attribution_window_days)
        # A postback can arrive before the worker moved its click out of the buffer; flushing once
        # on a miss makes that race invisible to the partner.
        self.flush_buffered_clicks = flush_buffered_clicks

    async def record(self, body: ConversionCreate) -> tuple[Conversion, bool]:
        """The conversion and whether this call created it (False: an identical earlier call did)."""
        existing = await self.conversions.by_external_id(body.external_id)
        created = False
        if existing is None:
            created = await self._insert(body)  # False: a concurrent call with this external id won
            existing = await self.conversions.by_external_id(body.external_id)
            if existing is None:  # the concurrent call that won was rolled back, or the row deleted since
                raise Conflict(f"external_id {body.external_id!r} is being recorded by another request; retry.")
        if created:
            return existing, True
        if not _same(existing, body):
            raise Conflict(
                f"external_id {body.external_id!r} was already used for a different conversion "
                f"(event {existing.event!r}, click {existing.click_id})."
            )
        return existing, False

    async def _insert(self, body: ConversionCreate) -> bool:
        click = await self.conversions.find_click(body.click_id)
        if click is None and self.flush_buffered_clicks is not None:
            await self.flush_buffered_clicks()
            click = await self.conversions.find_click(body.click_id)
        if click is None:
            raise ValidationFailed.on("body.click_id", "Unknown click: no click with this id in this workspace.")
        now = await self.conversions.now()
        if now - click.clicked_at > self.window:
            reason = f"Click too old: it is outside the {self.window.days}-day attribution window."
            raise ValidationFailed.on("body.click_id", reason)
        values = body.model_dump() | {"clicked_at": click.clicked_at, "link_id": click.link_id}
        return await self.conversions.insert(values)
