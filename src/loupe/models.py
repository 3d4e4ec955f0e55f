"""Every ORM model, imported in one place so alembic and the mappers see them all."""

from loupe.accounts.models import (
    AccountAudience,
    AccountContent,
    AccountProfile,
    ContentMetricSnapshot,
    ContentOverride,
    ProfileSnapshot,
)
from loupe.audit.models import AuditEvent
from loupe.campaigns.creators.models import CampaignCreator
from loupe.campaigns.models import Campaign, StoryCaptureWindow
from loupe.campaigns.stories.models import Story
from loupe.clicks.models import Click, ClickVisitor, OrphanVisit, VisitorSalt
from loupe.connections.models import ConnectAttempt, Connection, ConnectionFailure, DeletionRequest, Grant
from loupe.conversions.models import Conversion
from loupe.influencers.models import Influencer, InfluencerList, InfluencerListMember, InfluencerProfile
from loupe.invites.models import Invite, InviteTemplate
from loupe.kit.jobs import StagedJob
from loupe.kit.media import MediaTrash
from loupe.kit.outbox import OutboxMessage
from loupe.links.models import TrackingLink
from loupe.people.models import (
    AuthSession,
    Membership,
    Organization,
    OrganizationMember,
    Person,
    PersonToken,
    RefreshToken,
)
from loupe.reports.models import Report
from loupe.team.models import TeamInvitation
from loupe.trackings.models import (
    ReportContent,
    ReportCreatorRollup,
    ReportDayCreator,
    ReportDayRollup,
    TrackedContent,
    Tracking,
    TrackingInvite,
    TrackingProfile,
)
from loupe.workspaces.models import ApiKey, Workspace

__all__ = [
    "AccountAudience",
    "AccountContent",
    "AccountProfile",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "Campaign",
    "CampaignCreator",
    "Click",
    "ClickVisitor",
    "ConnectAttempt",
    "Connection",
    "ConnectionFailure",
    "ContentMetricSnapshot",
    "ContentOverride",
    "Conversion",
    "DeletionRequest",
    "Grant",
    "Influencer",
    "InfluencerList",
    "InfluencerListMember",
    "InfluencerProfile",
    "Invite",
    "InviteTemplate",
    "MediaTrash",
    "Membership",
    "Organization",
    "OrganizationMember",
    "OrphanVisit",
    "OutboxMessage",
    "Person",
    "PersonToken",
    "ProfileSnapshot",
    "RefreshToken",
    "Report",
    "ReportContent",
    "ReportCreatorRollup",
    "ReportDayCreator",
    "ReportDayRollup",
    "StagedJob",
    "Story",
    "StoryCaptureWindow",
    "TeamInvitation",
    "TrackedContent",
    "Tracking",
    "TrackingInvite",
    "TrackingLink",
    "TrackingProfile",
    "VisitorSalt",
    "Workspace",
]
