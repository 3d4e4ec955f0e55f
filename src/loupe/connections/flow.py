"""The connect flow behind the creator pages: start → platform consent → callback → (choose) → connected.

Every trip carries a random `state`, stored only as its SHA-256, bound to the invite, the platform and
the PKCE verifier, usable once and for 10 minutes. Every failure is recorded for the brand with a reason
code and plain words; the creator sees the same words and a way to try again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import ConnectAttempt, Connection, ConnectionStatus, FailureReason, Grant
from loupe.connections.repository import AttemptRepository, ConnectionRepository, GrantRepository
from loupe.connections.statuses import refresh_after, refresh_invite_statuses
from loupe.connections.tokens import token_columns, token_of
from loupe.connectors import ConnectorError, ErrorKind, PlatformAccount, TokenSet, get_connector
from loupe.connectors.base import Connector
from loupe.influencers.service import InfluencerService
from loupe.invites.models import Invite
from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.kit.hooks import Hook
from loupe.kit.vault import TokenVault
from loupe.workspaces.auth import acting_for
from loupe.workspaces.models import Plan
from loupe.workspaces.service import STAGING_CONNECTED_ACCOUNTS, WorkspaceService

# A workspace was granted an account (in the granting transaction): trackings the invite was bound to follow it.
account_granted: Hook[[AsyncSession, Grant, Connection]] = Hook("account_granted")
log = structlog.get_logger(__name__)

STATE_TTL = timedelta(minutes=10)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Outcome:
    """Where a step of the flow leaves the creator."""

    platform: str
    invite: Invite | None = None
    connections: list[Connection] = field(default_factory=list)
    failure: FailureReason | None = None
    detail: str | None = None
    choice_token: str | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)


class LimitReached(Exception):
    pass


def reason_of(error: ConnectorError) -> FailureReason:
    if error.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT:
        if "no Facebook Page" in error.message:
            return FailureReason.no_linked_page
        if "YouTube channel" in error.message:
            return FailureReason.no_account
        return FailureReason.not_professional_account
    if error.kind is ErrorKind.PERMISSION_MISSING:
        return FailureReason.permission_missing
    return FailureReason.platform_error


class ConnectFlow:
    def __init__(self, session: AsyncSession, ctx: ProcessContext) -> None:
        self.session = session
        self.ctx = ctx
        self.vault: TokenVault = ctx.vault
        self.attempts = AttemptRepository(session)
        self.connections = ConnectionRepository(session)

    # -- helpers -------------------------------------------------------------------------------------
    def connector(self, platform: str) -> Connector:
        return get_connector(platform, self.ctx.settings.platforms_config(), self.ctx.http)

    def redirect_uri(self, platform: str) -> str:
        """Exact and registered per platform: the platform compares it byte for byte."""
        return f"{self.ctx.settings.public_base_url.rstrip('/')}/connect/callback/{platform}"

    async def fail(self, invite: Invite, platform: str, reason: FailureReason, detail: str) -> Outcome:
        await GrantRepository(self.session, invite.workspace_id).add_failure(invite.id, platform, reason.value, detail)
        log.info("connect.failed", platform=platform, reason=reason.value, invite_id=str(invite.id))
        return Outcome(platform, invite, failure=reason, detail=detail)

    async def _over_limit(self, invite: Invite, connection_ids: list[uuid.UUID] | None = None, new: int = 0) -> bool:
        """Staging workspaces hold at most 25 connected accounts; reconnecting one already counted is fine.
        `new`: accounts not stored yet. Without ids: would one more account fit (the start of a trip)?"""
        workspace = await WorkspaceService(self.session).get_workspace(invite.workspace_id)
        if workspace.plan is not Plan.staging:
            return False
        grants = GrantRepository(self.session, invite.workspace_id)
        # Locked when granting: concurrent connections of one workspace queue, so the limit holds under races.
        active = await grants.count_active(lock=connection_ids is not None)
        if connection_ids is None:
            return active + 1 > STAGING_CONNECTED_ACCOUNTS
        found = [await grants.get_for_connection(i) for i in connection_ids]
        new += sum(grant is None or grant.status != ConnectionStatus.active.value for grant in found)
        return active + new > STAGING_CONNECTED_ACCOUNTS

    async def _limit_failure(self, invite: Invite, platform: str) -> Outcome:
        detail = f"The workspace has {STAGING_CONNECTED_ACCOUNTS} connected accounts."
        return await self.fail(invite, platform, FailureReason.limit_reached, detail)

    # -- start -----------------------------------------------------------------------------------------
    async def start(self, invite: Invite, platform: str) -> str | Outcome:
        """The platform's consent URL, or the failure outcome when the workspace is full."""
        if await self._over_limit(invite):
            return await self._limit_failure(invite, platform)
        state = secrets.token_urlsafe(32)
        request = self.connector(platform).authorization_url(self.redirect_uri(platform), state=state)
        verifier = request.code_verifier.get_secret_value() if request.code_verifier else None
        await self.attempts.add(
            ConnectAttempt(
                workspace_id=invite.workspace_id,
                invite_id=invite.id,
                platform=platform,
                state_hash=digest(state),
                code_verifier_enc=self.vault.encrypt(verifier) if verifier else None,
                redirect_uri=request.redirect_uri,
                expires_at=utcnow() + STATE_TTL,
            )
        )
        return request.url

    # -- callback --------------------------------------------------------------------------------------
    async def callback(self, platform: str, query: dict[str, str], invite_of: Any) -> Outcome:
        connector = self.connector(platform)
        result = connector.parse_callback(query)
        attempt = await self.attempts.by_state(digest(result.state)) if result.state else None
        if attempt is None or attempt.platform != platform:
            return Outcome(platform, failure=FailureReason.invalid_state, detail="Unknown or altered state.")
        invite: Invite = await invite_of(attempt.invite_id, attempt.workspace_id)
        if attempt.used_at is not None:
            return await self.fail(invite, platform, FailureReason.invalid_state, "The state was already used.")
        attempt.used_at = utcnow()
        if attempt.expires_at < attempt.used_at:
            return await self.fail(
                invite, platform, FailureReason.state_expired, "The state was older than 10 minutes."
            )
        if result.error or not result.code:
            detail = result.error_description or result.error_reason or result.error or "no code in the callback"
            reason = (
                FailureReason.access_denied if result.error in (None, "access_denied") else FailureReason.platform_error
            )
            return await self.fail(invite, platform, reason, f"{result.error or 'error'}: {detail}")
        verifier = self.vault.decrypt(attempt.code_verifier_enc) if attempt.code_verifier_enc else None
        try:
            token = await connector.exchange_code(result.code, attempt.redirect_uri, verifier)
            token = await connector.upgrade_token(token)
            missing = sorted(set(connector_scopes(connector)) - set(token.scopes)) if token.scopes else []
            if missing:
                return await self.fail(
                    invite, platform, FailureReason.permission_missing, f"Not granted: {', '.join(missing)}."
                )
            accounts = [a for a in await connector.list_accounts(token) if a.eligible]
        except ConnectorError as exc:
            return await self.fail(invite, platform, reason_of(exc), exc.message)
        if not accounts:
            return await self.fail(invite, platform, FailureReason.no_account, "The platform listed no account.")
        if len(accounts) > 1:
            return await self._offer_choice(attempt, invite, token, accounts)
        return await self._connect(invite, platform, token, accounts)

    async def _offer_choice(
        self, attempt: ConnectAttempt, invite: Invite, token: TokenSet, accounts: list[PlatformAccount]
    ) -> Outcome:
        choice = secrets.token_urlsafe(32)
        attempt.choice_hash = digest(choice)
        attempt.expires_at = utcnow() + STATE_TTL
        attempt.pending_token_enc = self.vault.encrypt(_dump_token(token))
        # Account tokens (Facebook Page tokens) are secrets too: kept encrypted beside the public fields.
        attempt.pending_accounts = [
            {
                **account.model_dump(mode="json", exclude={"token"}),
                "token_enc": self.vault.encrypt(_dump_token(account.token)) if account.token else None,
            }
            for account in accounts
        ]
        await self.session.flush()
        public = [
            {k: a[k] for k in ("id", "username", "name", "picture_url", "page_name")} for a in attempt.pending_accounts
        ]
        return Outcome(attempt.platform, invite, choice_token=choice, accounts=public)

    async def pending_choice(self, choice: str) -> ConnectAttempt | None:
        attempt = await self.attempts.by_choice(digest(choice))
        if attempt is None or attempt.pending_token_enc is None or attempt.expires_at < utcnow():
            return None
        return attempt

    async def choose(self, attempt: ConnectAttempt, invite: Invite, account_ids: list[str]) -> Outcome:
        pending = {a["id"]: a for a in attempt.pending_accounts or []}
        chosen = [pending[i] for i in account_ids if i in pending]
        if not chosen:
            return Outcome(attempt.platform, invite, failure=None, detail="Choose one of your accounts.")
        token = _load_token(self.vault.decrypt(attempt.pending_token_enc or ""))
        accounts = [
            PlatformAccount.model_validate(
                {
                    **{k: v for k, v in a.items() if k != "token_enc"},
                    "token": _load_token(self.vault.decrypt(a["token_enc"])) if a.get("token_enc") else None,
                }
            )
            for a in chosen
        ]
        # Single use: the pending token leaves the attempt whatever happens next.
        attempt.pending_token_enc = None
        attempt.pending_accounts = None
        attempt.choice_hash = None
        return await self._connect(invite, attempt.platform, token, accounts)

    # -- connecting ------------------------------------------------------------------------------------
    async def _connect(
        self, invite: Invite, platform: str, user_token: TokenSet, accounts: list[PlatformAccount]
    ) -> Outcome:
        # The limit is checked before anything is stored: a refused account leaves no tokens behind.
        known = await self.connections.ids_of(platform, [a.id for a in accounts])
        if await self._over_limit(invite, known, new=len(accounts) - len(known)):
            return await self._limit_failure(invite, platform)
        connections = []
        for account in accounts:
            token = account.token or user_token
            connections.append(
                await self.connections.upsert(
                    {
                        "platform": platform,
                        "platform_user_id": account.id,
                        "authorizing_user_id": user_token.user_id or account.id,
                        "username": account.username,
                        "display_name": account.name or account.page_name,
                        "picture_url": account.picture_url,
                        **token_columns(self.vault, token, user_token),
                        "status": ConnectionStatus.active.value,
                        "connected_at": utcnow(),
                        # The first refresh runs within a minute; later ones in the account's daily slot.
                        "next_refresh_at": utcnow(),
                        "last_error": None,
                        "reminders": {},
                    }
                )
            )
        for connection in connections:
            await self.grant(invite, connection)
        log.info("connect.connected", platform=platform, invite_id=str(invite.id), accounts=len(connections))
        return Outcome(platform, invite, connections=connections)

    async def grant(self, invite: Invite, connection: Connection) -> Grant:
        """The connection for the invite's workspace, on the invite's influencer, who gains the profile."""
        grant = await GrantRepository(self.session, invite.workspace_id).upsert(
            connection.id, invite.id, invite.influencer_id
        )
        handle = connection.username or connection.platform_user_id
        influencers = InfluencerService(self.session, acting_for(invite.workspace_id))
        await influencers.ensure_profile(invite.influencer_id, connection.platform, handle, connection.platform_user_id)
        await refresh_invite_statuses(self.session, invite.workspace_id, [invite.id])
        await account_granted(self.session, grant, connection)
        return grant

    async def share(self, invite: Invite, connection_ids: list[uuid.UUID]) -> Outcome | None:
        """Connect once: live connections of the creator's session, granted to another workspace in one click."""
        connections = [c for c in await self.connections.get_many(connection_ids) if c.status == "active"]
        if not connections:
            return None
        platform = connections[0].platform
        if await self._over_limit(invite, [c.id for c in connections]):
            return await self._limit_failure(invite, platform)
        for connection in connections:
            await self.grant(invite, connection)
        return Outcome(platform, invite, connections=connections)

    # -- disconnecting ---------------------------------------------------------------------------------
    async def disconnect(self, invite: Invite, connection: Connection, *, everywhere: bool) -> None:
        """From this workspace, or from every workspace with the tokens revoked at the platform."""
        if everywhere:
            grants = await self.connections.grants_of([connection.id])
            await self._revoke_at_platform(connection)
            await self.connections.set_status([connection.id], ConnectionStatus.revoked, wipe_tokens=True)
        else:
            grant = await GrantRepository(self.session, invite.workspace_id).get_for_connection(
                connection.id, lock=True
            )
            grants = [grant] if grant else []
        now = utcnow()
        for grant in grants:
            grant.status = ConnectionStatus.disconnected.value
            grant.disconnected_at = now
        await self.session.flush()
        await refresh_after(self.session, grants)

    async def _revoke_at_platform(self, connection: Connection) -> None:
        token = token_of(self.vault, connection)
        if token is None:
            return
        try:
            await self.connector(connection.platform).revoke(token)
        except ConnectorError as exc:  # the disconnection stands; the platform will expire the token anyway
            log.warning("connect.revoke_failed", platform=connection.platform, kind=exc.kind.value)


def connector_scopes(connector: Connector) -> list[str]:
    config = getattr(connector, "config", None)
    return list(getattr(config, "scopes", []) or [])


def _dump_token(token: TokenSet | None) -> str:
    if token is None:
        raise ValueError("there is no token to keep")
    data = token.model_dump(mode="json")
    data["access_token"] = token.secret()
    data["refresh_token"] = token.refresh_secret()
    return json.dumps(data)


def _load_token(raw: str) -> TokenSet:
    return TokenSet.model_validate_json(raw)
