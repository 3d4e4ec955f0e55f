"""Workspace creation for the CLI, and the demo data and activity `loupe dev` starts with."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from loupe.kit.db import create_engine, create_sessionmaker
from loupe.people.models import Role
from loupe.people.service import PeopleService, TeamService
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


@dataclass(frozen=True)
class Demo:
    """What `loupe dev` prints: the demo brand's key and connect-link token, and its owner's sign-in."""

    api_key: str
    connect_token: str
    email: str
    password: str


DEMO_EMAIL = "demo@loupe.example"


async def ensure_demo_workspace(database_url: str, data_dir: Path) -> Demo:
    """The demo workspace, its key and its owner (a verified person). Keys and passwords are stored hashed,
    so they are kept in the (git-ignored, development-only) data folder to print them again on the next start."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    path = data_dir / DEMO_FILE
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            service = WorkspaceService(session)
            saved = json.loads(path.read_text()) if path.exists() else {}
            found = await service.authenticate(saved["api_key"]) if "api_key" in saved else None
            if found is not None:
                key, workspace_id = str(saved["api_key"]), found.workspace_id
            else:
                workspace, key = await service.create_workspace("Demo brand", Plan.staging)
                workspace_id = workspace.id
                for name, description, age in (
                    (DEMO_REPORT, "Every creator of the spring drop, all networks.", timedelta(days=30)),
                    ("Always-on ambassadors", "Long-running ambassador programme.", timedelta()),
                ):
                    # The spring report dates from a month ago, so its tracking collects the posts of that month.
                    created = datetime.now(UTC) - age
                    session.add(
                        Report(workspace_id=workspace.id, name=name, description=description, created_at=created)
                    )
            password = saved.get("password") or secrets.token_urlsafe(12)
            person = await PeopleService(session).ensure_verified(DEMO_EMAIL, "Demo owner", password)
            await TeamService(session, workspace_id).add(person.id, Role.owner)
            connect_token = await service.connect_token(workspace_id)
        path.write_text(json.dumps({"workspace_id": str(workspace_id), "api_key": key, "password": password}))
        path.chmod(0o600)
        return Demo(key, connect_token, DEMO_EMAIL, password)
    finally:
        await engine.dispose()


# -- demo activity -----------------------------------------------------------------------------------------
# What `loupe dev` creates once the stack answers: three sandbox creators invited to the demo brand and
# connected on every platform through the real pages (the OAuth trip a creator takes, over HTTP), and a demo
# campaign with tracking links and clicks. Re-run on every start: the sandbox is a new process with new tokens,
# so the connections are made again (the same rows, fresh tokens) and refreshed within a minute.
log = structlog.get_logger(__name__)

# Sandbox creators with professional Instagram accounts linked to Pages (see sandbox/world.py IG_LAYOUT):
# about 19 accounts, under the staging plan's 25.
DEMO_CREATORS = ("creator-01", "creator-03", "creator-06")
DEMO_REPORT = "Spring launch 2026"
# The demo tracking follows the demo creators' Instagram accounts for tags and words the sandbox's captions use.
DEMO_TRACKING = {
    "name": "Spring on Instagram",
    "network": "instagram",
    "hashtags": ["#HappySpring", "#LoupeLaunch", "#GlowUp"],
    "mentions": ["@loupe_brand"],
    "keywords": ["crème brûlée", "summer sale"],
}
CAMPAIGN = "Demo spring campaign"
BROWSERS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
)


def _accounts(world: dict[str, list[dict[str, Any]]], creator: str) -> list[tuple[str, str]]:
    """(platform, account to pick on the authorize page) of a creator's connectable accounts."""
    out = []
    for platform, accounts in world.items():
        for account in accounts:
            if account["creator"] != creator:
                continue
            if platform == "instagram" and not account.get("linked_page"):
                continue
            if platform == "facebook" and not account.get("instagram_business_account"):
                continue  # a Page without Instagram is also offered, but one Page per creator is enough here
            out.append((platform, account["id"]))
    return out


def _connect(api: httpx.Client, token: str, platform: str, account: str, creator: str) -> bool:
    start = api.post(f"/connect/{token}/start/{platform}")
    if start.status_code != 303:
        return False
    authorize = httpx.URL(start.headers["location"]).copy_merge_params({"login_hint": creator})
    answer = httpx.post(str(authorize), data={"account": account, "decision": "approve"}, timeout=10)
    if answer.status_code not in (302, 303):
        return False
    back = urlsplit(answer.headers["location"])
    done = api.get(f"{back.path}?{back.query}")
    return done.status_code == 200


def seed_demo_activity(base: str, sandbox_url: str, api_key: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {api_key}"}
    connected = 0
    with httpx.Client(base_url=base, headers=headers, timeout=15) as api, httpx.Client(base_url=sandbox_url) as sandbox:
        influencers = []
        world = sandbox.get("/_sandbox/accounts").json()
        for creator in DEMO_CREATORS:
            invite = _invite(api, creator)
            influencers.append(invite["influencer_id"])
            token = invite["link"].rsplit("/", 1)[1]
            for platform, account in _accounts(world, creator):
                connected += _connect(api, token, platform, account, creator)
        clicks = _campaign(api, influencers)
        tracked = _tracking(api, world)
    log.info("demo.seeded", connected=connected, clicks=clicks, tracked_profiles=tracked)
    return {"connected": connected, "clicks": clicks}


def _tracking(api: httpx.Client, world: dict[str, list[dict[str, Any]]]) -> int:
    """The demo report's tracking of the demo creators' Instagram accounts (first start only): the refresh
    that follows the connections collects their matching posts into it."""
    report = next((r for r in api.get("/v1/reports").json()["data"] if r["name"] == DEMO_REPORT), None)
    if report is None:
        return 0
    trackings = api.get(f"/v1/reports/{report['id']}/trackings").json()["data"]
    if any(t["name"] == DEMO_TRACKING["name"] for t in trackings):
        return 0
    start = report["created_at"][:10]
    made = api.post(f"/v1/reports/{report['id']}/trackings", json={**DEMO_TRACKING, "start_date": start})
    made.raise_for_status()
    handles = [
        f"@{a['username']}"
        for a in world.get("instagram", [])
        if a["creator"] in DEMO_CREATORS and a.get("linked_page") and a.get("username")
    ]
    added = api.post(f"/v1/trackings/{made.json()['id']}/profiles", json={"handles": handles[:20]})
    added.raise_for_status()
    # Contents the refresh stored before the tracking existed join it too.
    api.post(f"/v1/trackings/{made.json()['id']}/rematch").raise_for_status()
    return int(added.json()["added"])


def _invite(api: httpx.Client, creator: str) -> dict[str, Any]:
    email = f"{creator}@demo.example.com"
    found = api.get("/v1/invites", params={"q": email}).json()["data"]
    if found:
        return found[0]  # type: ignore[no-any-return]
    name = creator.replace("-", " ").title()
    made = api.post("/v1/invites", json={"name": name, "email": email})
    made.raise_for_status()
    return made.json()  # type: ignore[no-any-return]


def _campaign(api: httpx.Client, influencers: list[str]) -> int:
    """The demo campaign, its creators active with their tracking links, and a few clicks (first start only)."""
    if any(c["name"] == CAMPAIGN for c in api.get("/v1/campaigns").json()["data"]):
        return 0
    campaign = api.post("/v1/campaigns", json={"name": CAMPAIGN, "starts_on": "2026-01-01"}).json()
    cid = campaign["id"]
    api.post(f"/v1/campaigns/{cid}/creators", json={"influencer_ids": influencers}).raise_for_status()
    for influencer in influencers:
        for stage in ("approved", "active"):
            api.patch(f"/v1/campaigns/{cid}/creators/{influencer}", json={"stage": stage}).raise_for_status()
    api.post(
        f"/v1/campaigns/{cid}/links", json={"name": "Spring shop", "destination": "https://shop.example.com/spring"}
    ).raise_for_status()
    links = [link for link in api.get("/v1/links", params={"campaign_id": cid}).json()["data"] if link.get("url")]
    clicks = 0
    for n, link in enumerate(links):
        for k in range(5 + 3 * n):
            path = urlsplit(link["url"]).path
            api.get(path, headers={"User-Agent": BROWSERS[k % len(BROWSERS)], "Authorization": ""})
            clicks += 1
    return clicks
