"""The api process: FastAPI app factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from loupe import __version__
from loupe.accounts.router import router as account_data_router
from loupe.accounts.webhooks import router as meta_webhooks_router
from loupe.audit.router import router as audit_router
from loupe.campaigns.creators.router import router as campaign_creators_router
from loupe.campaigns.router import router as campaigns_router
from loupe.campaigns.stories.router import router as stories_router
from loupe.config import Settings, get_settings
from loupe.connections.pages import router as connect_pages_router
from loupe.connections.router import router as connections_router
from loupe.connections.webhooks import router as platform_webhooks_router
from loupe.conversions.router import router as conversions_router
from loupe.health import router as health_router
from loupe.influencers.lists_router import router as influencer_lists_router
from loupe.influencers.router import router as influencers_router
from loupe.invites.router import router as invites_router
from loupe.invites.router import template_router as invite_template_router
from loupe.kit.context import ProcessContext
from loupe.kit.docs import mount_docs
from loupe.kit.errors import install_error_handlers
from loupe.kit.idempotency import IdempotencyMiddleware
from loupe.kit.logging import configure_logging
from loupe.kit.metrics import start_metrics_listener
from loupe.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware, route_body_limits
from loupe.kit.openapi import build_openapi, operations
from loupe.links.router import campaign_router as campaign_links_router
from loupe.links.router import router as links_router
from loupe.messaging.router import router as messaging_router
from loupe.redirect.factory import RedirectFirst, mount_redirect
from loupe.reports.router import router as reports_router
from loupe.runtime import resolve_service_urls
from loupe.stats.router import router as stats_router
from loupe.team.auth_router import router as auth_router
from loupe.team.me_router import router as me_router
from loupe.team.router import public_router as team_public_router
from loupe.team.router import router as team_router
from loupe.trackings.router import router as trackings_router
from loupe.workspaces.auth import CSRF_HEADER, authenticate, presents_valid_credential
from loupe.workspaces.router import router as workspaces_router

DESCRIPTION = """
Loupe measures influencer marketing: the content creators publish for a campaign, the first-party
metrics they consent to share, and the clicks and conversions their tracking links drive.

**Authentication.** Every `/v1` operation (but the sign-in routes under `/v1/auth`) needs a credential,
as `Authorization: Bearer <credential>`: a workspace **API key** (`lp_…`), or a person's **access token**
(`la_…`, from `POST /v1/auth/login`: 15 minutes, bound to one workspace, renewed with its refresh token).
Each operation says what it needs (its `x-loupe-access`): a person's least role (`viewer` reads, `member`
writes campaign data, `admin` manages keys, team, templates and the audit log, `owner` ownership) or a key's
scope (`read`, `write`, `conversions`, `admin`). A missing or invalid credential answers 401, one that may not
403, and another workspace's resource 404.

**Errors** are RFC 9457 problem details (`application/problem+json`); validation problems list each
field and the reason under `errors`.

**Lists** are newest first and paginated by an opaque cursor: pass `next_cursor` back as `cursor`.
"""

TAGS = [
    {"name": "reports", "description": "Reports: containers of trackings."},
    {"name": "influencers", "description": "The workspace's CRM: influencers, their tags and social profiles."},
    {
        "name": "campaigns",
        "description": "Campaigns: dates, description and the story-capture toggle with its history.",
    },
    {"name": "campaign creators", "description": "Creators of a campaign and their workflow stage."},
    {
        "name": "tracking links",
        "description": "Campaign-level and creator links: unique codes, UTM fields, labels; archived, never deleted.",
    },
    {"name": "messages", "description": "Message templates with merge tags, rendered for a creator."},
    {"name": "invites", "description": "Creator invites by email (one by one or from a CSV) and their template."},
    {
        "name": "connections",
        "description": "Accounts creators connected through their invite pages, and the attempts that failed.",
    },
    {
        "name": "connected account data",
        "description": "What connected accounts' platforms tell: profiles and their history, audiences, contents "
        "with API and manual metrics, a campaign's contents, refreshes on demand.",
    },
    {"name": "stories", "description": "Stories captured by hand for a campaign's creators: media and manual metrics."},
    {"name": "conversions", "description": "Server-to-server conversions attributed to tracking-link clicks."},
    {"name": "stats", "description": "Clicks, unique clicks, bot clicks, conversions and revenue of links."},
    {"name": "workspace", "description": "The caller's workspace and its API keys."},
    {"name": "sign-in", "description": "People sign up, confirm their email, sign in and out, renew tokens."},
    {"name": "me", "description": "The signed-in person: who they are, their workspaces, their sessions."},
    {"name": "team", "description": "A workspace's team: invitations by email, members and their roles."},
    {"name": "audit log", "description": "Every write by a person or a key: who, what, which resource, when, where."},
    {"name": "operations", "description": "Liveness and readiness probes."},
]


def create_app(settings: Settings | None = None, *, context: ProcessContext | None = None) -> FastAPI:
    """Build the api. Pass `context` to share process resources (tests); otherwise the
    lifespan builds them, starting the embedded servers when no URLs are configured."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is not None:
            app.state.ctx = context
            yield
            return
        start_metrics_listener(settings)
        with resolve_service_urls(settings) as (database_url, redis_url):
            ctx = await ProcessContext.create(settings, database_url, redis_url)
            app.state.ctx = ctx
            gc.freeze()  # what exists now lives as long as the process: keep it out of every collection
            try:
                yield
            finally:
                await ctx.close()

    app = FastAPI(
        title="Loupe API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # kit.docs serves it, with its assets
        redoc_url="/redoc",
    )
    if context is not None:
        app.state.ctx = context
    install_error_handlers(app)
    mount_docs(app, app.openapi_url or "/openapi.json")

    # Every /v1 operation authenticates (a key or a person's token) and declares what it needs (see
    # workspaces.auth); the public sign-in routes are the only ones outside this router.
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    v1.include_router(reports_router)
    v1.include_router(trackings_router)
    v1.include_router(influencers_router)
    v1.include_router(influencer_lists_router)
    v1.include_router(campaigns_router)
    v1.include_router(campaign_creators_router)
    v1.include_router(campaign_links_router)
    v1.include_router(links_router)
    v1.include_router(messaging_router)
    v1.include_router(invites_router)
    v1.include_router(invite_template_router)
    v1.include_router(connections_router)
    v1.include_router(account_data_router)
    v1.include_router(stories_router)
    v1.include_router(conversions_router)
    v1.include_router(stats_router)
    v1.include_router(workspaces_router)
    v1.include_router(audit_router)
    v1.include_router(team_router)
    v1.include_router(me_router)
    app.include_router(v1)
    # Public: signing up and in, and accepting a team invitation (the emailed token is the credential).
    public_v1 = APIRouter(prefix="/v1")
    public_v1.include_router(auth_router)
    public_v1.include_router(team_public_router)
    app.include_router(public_v1)
    app.include_router(health_router)
    # Public: the creator pages and the platforms' callbacks (their URL secret or signature is the credential).
    app.include_router(connect_pages_router)
    app.include_router(platform_webhooks_router)
    app.include_router(meta_webhooks_router)  # GET/POST /webhooks/meta: Meta Webhooks (story_insights)
    redirect = mount_redirect(app, settings)  # /l/{code}: out of the OpenAPI contract

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(IdempotencyMiddleware)  # inside the body limit: it reads bounded bodies only
    # Upload routes (marked with body_limit) have their own limit; past a small one, only a request with
    # valid credentials is read further.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        anonymous_bytes=settings.max_anonymous_body_bytes,
        route_limits=route_body_limits(operations(app), settings),
        verify=presents_valid_credential,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            # A SPA signed in by cookie sends them (credentials: "include") with its CSRF token; retries
            # carry an Idempotency-Key; it reads its rate limit and a replay's marker.
            allow_credentials=True,
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", CSRF_HEADER, "Idempotency-Key"],
            expose_headers=["X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(RedirectFirst, redirect=redirect)  # outermost: the hot path skips the rest
    return app
