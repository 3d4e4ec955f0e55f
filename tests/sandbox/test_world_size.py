"""`create_app(world_size=N)` / `loupe sandbox --world-size N`: N creators, deterministic, the 12 fixed layouts
first and then again, quick to build, and every account usable through the platform endpoints."""

from __future__ import annotations

import time

import httpx
from typer.testing import CliRunner

from loupe.sandbox import Clock, create_app
from loupe.sandbox.state import Sandbox
from loupe.sandbox.world import IG_LAYOUT, World
from tests.sandbox.conftest import T0


def world_of(size: int | None) -> World:
    sandbox: Sandbox = create_app(seed=42, clock=Clock(frozen_at=T0), world_size=size).state.sandbox
    return sandbox.world


def layout_of(world: World, index: int) -> list[tuple[str, bool]]:
    return [(a.account_type, a.page_id is not None) for a in world.creators[index].accounts["instagram"]]


def test_the_first_twelve_are_the_default_world_and_later_ones_reuse_the_layouts() -> None:
    small, big = world_of(None), world_of(40)
    assert len(small.creators) == 12 and len(big.creators) == 40
    for a, b in zip(small.by_num.values(), big.by_num.values(), strict=False):
        assert (a.platform, a.id, a.username, a.followers, a.audience) == (
            b.platform,
            b.id,
            b.username,
            b.followers,
            b.audience,
        )
    expected = [[(kind, linked) for kind, linked, _, _ in layout] for layout in IG_LAYOUT]
    for i in range(40):
        assert layout_of(big, i) == expected[i % 12]
    assert [big.creators[i].accounts["youtube"][0].has_channel for i in (11, 23, 35)] == [False, False, False]
    assert len(big.creators[24].accounts["facebook"]) == 2  # a Page without IG link, like creator 0's
    for platform, accounts in big.accounts.items():  # ids and handles unique
        assert len({a.username for a in accounts.values()}) == len(accounts), platform
    assert {c.id for c in big.creators} == {f"creator-{i + 1:02d}" for i in range(40)}


def test_the_same_seed_builds_the_same_world() -> None:
    one, two = world_of(300), world_of(300)
    assert [(a.id, a.username, a.followers) for a in one.by_num.values()] == [
        (a.id, a.username, a.followers) for a in two.by_num.values()
    ]
    last = list(one.by_num.values())[-1]
    assert last.audience == list(two.by_num.values())[-1].audience


def test_five_thousand_creators_build_quickly_and_items_decode() -> None:
    started = time.perf_counter()
    world = world_of(5000)
    took = time.perf_counter() - started
    assert len(world.creators) == 5000 and len(world.accounts["tiktok"]) == 5000
    assert took < 30  # a loose bound: a few seconds on a slow machine, no feed built up front
    assert world._cache == {}
    for platform in ("instagram", "tiktok", "youtube", "twitter", "twitch", "facebook"):
        acct = list(world.accounts[platform].values())[-1]  # account numbers of 5 digits
        item = world.feed_item(acct, -1)
        assert world.find_item(platform, item.id) is item, platform
    assert world.creator("creator-5000") is world.creators[-1]


async def test_accounts_beyond_the_first_twelve_answer_on_the_platforms() -> None:
    app = create_app(seed=42, clock=Clock(frozen_at=T0), world_size=200)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        accounts = (await client.get("/_sandbox/accounts")).json()
        assert len(accounts["tiktok"]) == 200
        tiktok = accounts["tiktok"][-1]["id"]
        minted = (await client.post("/_sandbox/tokens", json={"platform": "tiktok", "account": tiktok})).json()
        headers = {"Authorization": f"Bearer {minted['access_token']}"}
        user = await client.get(
            "/open.tiktokapis.com/v2/user/info/", params={"fields": "open_id,display_name"}, headers=headers
        )
        assert user.status_code == 200 and user.json()["data"]["user"]["open_id"] == tiktok
        videos = await client.post(
            "/open.tiktokapis.com/v2/video/list/", params={"fields": "id,title"}, json={"max_count": 5}, headers=headers
        )
        assert videos.status_code == 200 and len(videos.json()["data"]["videos"]) == 5


def test_the_sandbox_command_takes_a_world_size(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from loupe.cli import app as cli

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app))
    result = CliRunner().invoke(cli, ["sandbox", "--world-size", "30"])
    assert result.exit_code == 0, result.output
    assert len(served["app"].state.sandbox.world.creators) == 30
    assert CliRunner().invoke(cli, ["sandbox", "--world-size", "0"]).exit_code != 0
