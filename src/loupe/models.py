"""Every ORM model, imported in one place so alembic and the mappers see them all."""

from loupe.campaigns.models import Campaign, CampaignCreator, Story, StoryCaptureWindow
from loupe.clicks.models import Click, ClickVisitor, OrphanVisit, VisitorSalt
from loupe.conversions.models import Conversion
from loupe.influencers.models import Influencer, InfluencerProfile
from loupe.links.models import TrackingLink
from loupe.reports.models import Report
from loupe.workspaces.models import ApiKey, Workspace

__all__ = [
    "ApiKey",
    "Campaign",
    "CampaignCreator",
    "Click",
    "ClickVisitor",
    "Conversion",
    "Influencer",
    "InfluencerProfile",
    "OrphanVisit",
    "Report",
    "Story",
    "StoryCaptureWindow",
    "TrackingLink",
    "VisitorSalt",
    "Workspace",
]
