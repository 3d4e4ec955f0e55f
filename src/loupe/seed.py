"""Workspace creation for the CLI, and the demo data `loupe dev` starts with."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from loupe.kit.db import create_engine, create_sessionmaker
from loupe.reports.models import Report
from loupe.workspaces.models import Plan
from loupe.workspaces.service import WorkspaceService

DEMO_FILE = "demo.json"


async def create_workspace(database_url: str, name: str, plan: Plan) -> tuple[uuid.UUID, str]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            workspace, key = await WorkspaceService(session).create_workspace(name, plan)
            return workspace.id, key
    finally:
        await engine.dispose()


async def ensure_demo_workspace(database_url: str, data_dir: Path) -> tuple[str, str]:
    """The demo workspace's key and connect-link token. Keys are stored hashed, so the demo key is kept in
    the (git-ignored, development-only) data folder to print it again on the next start."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    path = data_dir / DEMO_FILE
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            service = WorkspaceService(session)
            if path.exists():
                key = json.loads(path.read_text())["api_key"]
                found = await service.authenticate(key)
                if found is not None:
                    return str(key), await service.connect_token(found.workspace_id)
            workspace, key = await service.create_workspace("Demo brand", Plan.staging)
            for name, description in (
                ("Spring launch 2026", "Every creator of the spring drop, all networks."),
                ("Always-on ambassadors", "Long-running ambassador programme."),
            ):
                session.add(Report(workspace_id=workspace.id, name=name, description=description))
            connect_token = await service.connect_token(workspace.id)
        path.write_text(json.dumps({"workspace_id": str(workspace.id), "api_key": key}))
        path.chmod(0o600)
        return key, connect_token
    finally:
        await engine.dispose()
