"""Manual story capture: accepted only inside the spans when the toggle was on, media type and size
checked, metrics stored as manual, listing and download, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.context import ProcessContext
from loupe.kit.media import sweep_media
from tests import factories
from tests.conftest import Tenant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200


def _at(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _capture(
    client: httpx.AsyncClient,
    tenant: Tenant,
    campaign_id: str,
    influencer_id: str,
    posted_at: str,
    media: tuple[str, bytes, str] = ("story.png", PNG, "image/png"),
    **fields: Any,
) -> httpx.Response:
    return await client.post(
        f"/v1/campaigns/{campaign_id}/creators/{influencer_id}/stories",
        data={"posted_at": posted_at, **{k: str(v) for k, v in fields.items()}},
        files={"media": media},
        headers=tenant.write,
    )


async def _stories(client: httpx.AsyncClient, tenant: Tenant, campaign_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/campaigns/{campaign_id}/stories", headers=tenant.read)
    assert response.status_code == 200
    return response.json()["data"]  # type: ignore[no-any-return]


async def _setup(client: httpx.AsyncClient, tenant: Tenant, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    camp = await factories.campaign(client, tenant, **campaign)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "active")
    return camp, ada


async def _set_windows(db: ProcessContext, campaign_id: str, *spans: tuple[float, float | None]) -> None:
    """Rewrites the campaign's toggle history to spans given in days from now (None: still on); its
    creators are taken to have joined 30 days ago, so only the toggle decides."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE campaign_creators SET created_at = now() - interval '30 days' WHERE campaign_id = :c"),
            {"c": campaign_id},
        )
        await conn.execute(text("DELETE FROM story_capture_windows WHERE campaign_id = :c"), {"c": campaign_id})
        for start, end in spans:
            await conn.execute(
                text(
                    "INSERT INTO story_capture_windows (id, campaign_id, started_at, ended_at) VALUES "
                    "(gen_random_uuid(), :c, now() + make_interval(days => :s), "
                    "CASE WHEN CAST(:e AS int) IS NULL THEN NULL ELSE now() + make_interval(days => :e) END)"
                ),
                {"c": campaign_id, "s": start, "e": end},
            )


async def test_accepted_only_while_the_toggle_was_on(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    await _set_windows(db, camp["id"], (-10, -5), (-2, None))
    history = (await client.get(f"/v1/campaigns/{camp['id']}", headers=tenant.read)).json()["story_capture_history"]
    assert len(history) == 2 and history[1]["ended_at"] is None

    inside_first = await _capture(client, tenant, camp["id"], ada["id"], _at(days=-7))
    assert inside_first.status_code == 201, inside_first.text
    for posted_at in (_at(days=-3), _at(days=-11)):
        refused = await _capture(client, tenant, camp["id"], ada["id"], posted_at)
        assert refused.status_code == 422
        [error] = refused.json()["errors"]
        assert error["field"] == "body.posted_at" and "not retroactive" in error["reason"]
    future = await _capture(client, tenant, camp["id"], ada["id"], _at(hours=1))
    assert future.status_code == 422 and "future" in future.json()["errors"][0]["reason"]

    # Turning it off closes the open span; moments inside it stay capturable, later ones do not.
    off = await client.patch(f"/v1/campaigns/{camp['id']}", json={"story_capture": False}, headers=tenant.write)
    assert off.json()["story_capture_history"][1]["ended_at"] is not None
    assert (await _capture(client, tenant, camp["id"], ada["id"], _at(days=-1))).status_code == 201
    assert len(await _stories(client, tenant, camp["id"])) == 2


async def test_never_on_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp, ada = await _setup(client, tenant)
    response = await _capture(client, tenant, camp["id"], ada["id"], _at(minutes=-1))
    assert response.status_code == 422 and "never on" in response.json()["errors"][0]["reason"]


async def test_stored_with_manual_metrics_listed_and_downloadable(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    grace = await factories.creator_in(client, tenant, camp["id"], "Grace", "active")
    response = await _capture(
        client, tenant, camp["id"], ada["id"], _at(), media=("s.mp4", MP4, "video/mp4"),
        text="Swipe up!", views=1200, reach=950, link_clicks=12, sticker_taps=0,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    story = response.json()
    assert story["metrics"] == {"views": 1200, "reach": 950, "link_clicks": 12, "sticker_taps": 0}
    assert story["metrics_source"] == "manual" and story["text"] == "Swipe up!"
    assert story["media"]["content_type"] == "video/mp4" and story["media"]["size"] == len(MP4)
    download = await client.get(story["media"]["url"], headers=tenant.read)
    assert download.status_code == 200 and download.content == MP4
    assert download.headers["content-type"] == "video/mp4"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")  # never rendered in our origin

    await _capture(client, tenant, camp["id"], grace["id"], _at())
    assert [s["id"] for s in await _stories(client, tenant, camp["id"])][1] == story["id"]
    only_ada = await client.get(
        f"/v1/campaigns/{camp['id']}/stories", params={"influencer_id": ada["id"]}, headers=tenant.read
    )
    assert [s["id"] for s in only_ada.json()["data"]] == [story["id"]]


@pytest.mark.parametrize(
    ("media", "reason"),
    [
        (("page.html", b"<html></html>", "text/html"), "Content type 'text/html' is not accepted"),
        (("fake.png", b"<script>alert(1)</script>", "image/png"), "content is not image/png"),
        (("fake.mp4", PNG, "video/mp4"), "content is not video/mp4"),
        # A valid GIF header, then a page: the magic number alone would let it through.
        (
            (
                "page.gif",
                b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"x" * 600 + b"<html><script>alert(1)</script>",
                "image/gif",
            ),
            "content is not image/gif",
        ),
        (("late.png", PNG + b"\x00" * 900 + b"<svg onload=alert(1)>", "image/png"), "content is not image/png"),
    ],
)
async def test_wrong_media_types_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, media: tuple[str, bytes, str], reason: str
) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    response = await _capture(client, tenant, camp["id"], ada["id"], _at(), media=media)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body.media" and reason in error["reason"]
    assert await _stories(client, tenant, camp["id"]) == []


async def test_oversized_media_is_413_and_nothing_is_kept(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db.media, "max_bytes", 1000)
    camp, ada = await _setup(client, tenant, story_capture=True)
    big = PNG + b"\x00" * 1000
    response = await _capture(client, tenant, camp["id"], ada["id"], _at(), media=("big.png", big, "image/png"))
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert await _stories(client, tenant, camp["id"]) == []
    folder = db.settings.data_dir / "media" / tenant.workspace_id / camp["id"]
    assert not folder.exists() or list(folder.iterdir()) == []
    ok = await _capture(client, tenant, camp["id"], ada["id"], _at(), media=("ok.png", PNG, "image/png"))
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"posted_at": "2026-03-01T10:00:00"}, "body.posted_at"),  # no timezone
        ({"posted_at": "yesterday"}, "body.posted_at"),
        ({"views": -1}, "body.views"),
        ({"reach": "many"}, "body.reach"),
    ],
)
async def test_invalid_fields(client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    payload = {"posted_at": _at(), **fields}
    response = await _capture(client, tenant, camp["id"], ada["id"], **payload)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    missing = await client.post(
        f"/v1/campaigns/{camp['id']}/creators/{ada['id']}/stories", data={"posted_at": _at()}, headers=tenant.write
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.media"


async def test_creators_only_and_tenancy(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp, ada = await _setup(client, acme, story_capture=True)
    outsider = await factories.influencer(client, acme, "Outsider")
    assert (await _capture(client, acme, camp["id"], outsider["id"], _at())).status_code == 404
    assert (await _capture(client, rival, camp["id"], ada["id"], _at())).status_code == 404
    read_only = await client.post(
        f"/v1/campaigns/{camp['id']}/creators/{ada['id']}/stories",
        data={"posted_at": _at()},
        files={"media": ("s.png", PNG, "image/png")},
        headers=acme.read,
    )
    assert read_only.status_code == 403
    story = (await _capture(client, acme, camp["id"], ada["id"], _at())).json()
    assert (await client.get(story["media"]["url"], headers=rival.read)).status_code == 404
    assert (await client.get(f"/v1/campaigns/{camp['id']}/stories", headers=rival.read)).status_code == 404
    assert (await client.get(story["media"]["url"])).status_code == 401


async def test_media_larger_than_a_json_body_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, settings: Any
) -> None:
    """Uploads get the media limit, not the (much smaller) JSON body limit."""
    camp, ada = await _setup(client, tenant, story_capture=True)
    video = MP4 + b"\x00" * (settings.max_body_bytes * 3)
    response = await _capture(client, tenant, camp["id"], ada["id"], _at(), ("story.mp4", video, "video/mp4"))
    assert response.status_code == 201, response.text
    downloaded = await client.get(response.json()["media"]["url"], headers=tenant.read)
    assert downloaded.content == video


async def test_uploads_beyond_the_media_limit_are_cut_off_by_the_server(
    client: httpx.AsyncClient, tenant: Tenant, settings: Any
) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    huge = MP4 + b"\x00" * (settings.media_max_bytes + 100_000)
    response = await _capture(client, tenant, camp["id"], ada["id"], _at(), ("s.mp4", huge, "video/mp4"))
    assert response.status_code == 413
    assert await _stories(client, tenant, camp["id"]) == []


def _media_files(db: ProcessContext, tenant: Tenant) -> list[str]:
    folder = db.settings.data_dir / "media" / tenant.workspace_id
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


class CommitFailed(Exception):
    pass


def _failing_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def commit(self: AsyncSession) -> None:
        raise CommitFailed

    monkeypatch.setattr(AsyncSession, "commit", commit)


async def test_no_media_file_is_left_when_the_transaction_fails(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    _failing_commits(monkeypatch)
    with pytest.raises(CommitFailed):
        await _capture(client, tenant, camp["id"], ada["id"], _at())
    monkeypatch.undo()
    assert await _stories(client, tenant, camp["id"]) == []
    assert _media_files(db, tenant) == []


async def test_deleting_a_campaign_or_an_influencer_removes_their_media_files(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database trashes the files of deleted stories (cascades included); the sweep job removes them."""

    async def swept() -> int:
        return (await sweep_media({"process": db}))["removed"]

    spring, ada = await _setup(client, tenant, story_capture=True)
    summer, grace = await _setup(client, tenant, story_capture=True)
    spring_story = (await _capture(client, tenant, spring["id"], ada["id"], _at())).json()
    await factories.add_creators(client, tenant, summer["id"], ada["id"])
    ada_summer = (await _capture(client, tenant, summer["id"], ada["id"], _at())).json()
    grace_summer = (await _capture(client, tenant, summer["id"], grace["id"], _at())).json()
    assert len(_media_files(db, tenant)) == 3

    # A delete whose transaction fails keeps the files with the stories.
    _failing_commits(monkeypatch)
    with pytest.raises(CommitFailed):
        await client.delete(f"/v1/campaigns/{spring['id']}", headers=tenant.write)
    monkeypatch.undo()
    assert await swept() == 0
    assert (await client.get(spring_story["media"]["url"], headers=tenant.read)).status_code == 200

    assert (await client.delete(f"/v1/campaigns/{spring['id']}", headers=tenant.write)).status_code == 204
    assert (await swept(), len(_media_files(db, tenant))) == (1, 2)
    assert (await client.delete(f"/v1/influencers/{ada['id']}", headers=tenant.write)).status_code == 204
    assert (await swept(), len(_media_files(db, tenant))) == (1, 1)
    assert await swept() == 0
    assert (await client.get(ada_summer["media"]["url"], headers=tenant.read)).status_code == 404
    assert (await client.get(grace_summer["media"]["url"], headers=tenant.read)).status_code == 200


async def test_stories_from_before_the_creator_joined_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp, ada = await _setup(client, tenant, story_capture=True)
    await _set_windows(db, camp["id"], (-10, None))
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE campaign_creators SET created_at = now() - interval '3 days' WHERE campaign_id = :c"),
            {"c": camp["id"]},
        )
    refused = await _capture(client, tenant, camp["id"], ada["id"], _at(days=-5))
    assert refused.status_code == 422
    assert "joined this campaign" in refused.json()["errors"][0]["reason"]
    accepted = await _capture(client, tenant, camp["id"], ada["id"], _at(days=-2))
    assert accepted.status_code == 201, accepted.text
    assert len(await _stories(client, tenant, camp["id"])) == 1
