"""Every ORM model, imported in one place so alembic and the mappers see them all."""

from loupe.reports.models import Report
from loupe.workspaces.models import ApiKey, Workspace

__all__ = ["ApiKey", "Report", "Workspace"]
