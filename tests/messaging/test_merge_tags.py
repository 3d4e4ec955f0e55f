"""Merge tags: the renderer on its own, and the campaign message preview for a creator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from loupe.messaging.templates import MergeTag, MergeTagRegistry, TemplateError
from tests import factories
from tests.conftest import Tenant
from tests.factories import count_statements

BASE = "http://127.0.0.1:8000/l/"


# --- the renderer, as invite emails will reuse it -------------------------------------------------

REGISTRY = MergeTagRegistry(
    [MergeTag("creator_name", "Name."), MergeTag("tracking_link", "A link.", argument="link name")]
)


async def _name(_: str | None) -> str:
    return "Ada"


async def _link(name: str | None) -> str:
    return f"<{name}>"


async def test_renderer_substitutes_tags_and_keeps_other_text() -> None:
    out = await REGISTRY.render(
        "Hi {{ creator_name }}, {x} {{tracking_link: Spring sale }}!", {"creator_name": _name, "tracking_link": _link}
    )
    assert out == "Hi Ada, {x} <Spring sale>!"


def test_a_registry_accepts_new_tags() -> None:
    registry = MergeTagRegistry(REGISTRY.tags)
    registry.register(MergeTag("invite_link", "The invite page."))
    assert [u.name for u in registry.parse("{{invite_link}} {{creator_name}}")] == ["invite_link", "creator_name"]
    with pytest.raises(ValueError):
        registry.register(MergeTag("invite_link", "again"))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{nope}}", ["Unknown merge tag {{nope}}"]),
        ("{{}}", ["Empty merge tag"]),
        ("{{tracking_link}}", ["needs a link name"]),
        ("{{tracking_link:  }}", ["needs a link name"]),
        ("{{creator_name:x}}", ["takes no argument"]),
        ("Hi {{creator_name}", ["Unbalanced braces: '{{'"]),
        ("Hi creator_name}}", ["Unbalanced braces: '}}'"]),
        ("{{a}} and {{b}}", ["Unknown merge tag {{a}}", "Unknown merge tag {{b}}"]),
    ],
)
def test_unknown_and_malformed_tags_are_each_reported(template: str, expected: list[str]) -> None:
    with pytest.raises(TemplateError) as caught:
        REGISTRY.parse(template)
    assert len(caught.value.problems) == len(expected)
    for problem, fragment in zip(caught.value.problems, expected, strict=True):
        assert fragment in problem


# --- the preview endpoint -------------------------------------------------------------------------


async def _preview(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, influencer_id: str, template: str
) -> httpx.Response:
    return await client.post(
        f"/v1/campaigns/{campaign_id}/message-preview",
        json={"template": template, "influencer_id": influencer_id},
        headers=tenant.write,
    )


async def _links(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    return (await client.get("/v1/links", params=params, headers=tenant.read)).json()["data"]  # type: ignore[no-any-return]


async def test_each_tag_renders_for_the_creator(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant, name="Spring")
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    grace = await factories.creator_in(client, tenant, camp["id"], "Grace", "approved")
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Spring sale", "destination": "https://shop.example/"},
        headers=tenant.write,
    )
    bio = await client.post(
        "/v1/links",
        json={"campaign_id": camp["id"], "influencer_id": ada["id"], "name": "Bio", "destination": "https://a.example"},
        headers=tenant.write,
    )
    [ada_copy] = [link for link in await _links(client, tenant, influencer_id=ada["id"]) if link["parent_link_id"]]
    template = (
        "Hi {{creator_name}} ({{campaign_name}}): {{tracking_link:spring SALE}} / {{tracking_link:Bio}}\n"
        "{{all_tracking_links}}"
    )
    response = await _preview(client, tenant, camp["id"], ada["id"], template)
    assert response.status_code == 200, response.text
    bio_url = bio.json()["url"]
    assert response.json()["rendered"] == (
        f"Hi Ada (Spring): {ada_copy['url']} / {bio_url}\nSpring sale: {ada_copy['url']}\nBio: {bio_url}"
    )
    # Grace has no link named Bio: refused, naming it.
    refused = await _preview(client, tenant, camp["id"], grace["id"], "{{tracking_link:Bio}}")
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "body.template" and "no live tracking link named 'Bio'" in error["reason"]


async def test_rendering_generates_the_missing_copy_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")  # not promoted: no copy yet
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )
    assert await _links(client, tenant, influencer_id=ada["id"]) == []
    first = await _preview(client, tenant, camp["id"], ada["id"], "{{tracking_link:Shop}}")
    assert first.status_code == 200
    [copy] = await _links(client, tenant, influencer_id=ada["id"])
    assert first.json()["rendered"] == copy["url"] and copy["url"].startswith(BASE)
    second = await _preview(client, tenant, camp["id"], ada["id"], "{{all_tracking_links}}")
    assert second.json()["rendered"] == f"Shop: {copy['url']}"
    assert len(await _links(client, tenant, influencer_id=ada["id"])) == 1
    # Promotion later reuses that copy.
    await factories.move(client, tenant, camp["id"], ada["id"], "approved")
    assert [link["code"] for link in await _links(client, tenant, influencer_id=ada["id"])] == [copy["code"]]


async def test_archived_links_are_not_rendered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    parent = await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )
    await client.post(f"/v1/links/{parent.json()['id']}/archive", headers=tenant.write)
    assert (await _preview(client, tenant, camp["id"], ada["id"], "[{{all_tracking_links}}]")).json()[
        "rendered"
    ] == "[]"
    response = await _preview(client, tenant, camp["id"], ada["id"], "{{tracking_link:Shop}}")
    assert response.status_code == 422


async def test_unknown_tags_are_refused_before_anything_is_generated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )
    response = await _preview(
        client, tenant, camp["id"], ada["id"], "{{tracking_link:Shop}} {{discount}} {{first_name}"
    )
    assert response.status_code == 422
    reasons = [e["reason"] for e in response.json()["errors"]]
    assert len(reasons) == 2 and "{{discount}}" in reasons[0] and "Unbalanced" in reasons[1]
    assert await _links(client, tenant, influencer_id=ada["id"]) == []


async def test_preview_needs_a_creator_of_the_campaign_in_the_workspace(client: httpx.AsyncClient, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, rival = await make_tenant("Acme"), await make_tenant("Rival")
    camp = await factories.campaign(client, acme)
    outsider = await factories.influencer(client, acme, "Outsider")
    ada = await factories.creator_in(client, acme, camp["id"])
    response = await _preview(client, acme, camp["id"], outsider["id"], "Hi {{creator_name}}")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.influencer_id"
    assert (await _preview(client, rival, camp["id"], ada["id"], "Hi")).status_code == 404
    read_only = await client.post(
        f"/v1/campaigns/{camp['id']}/message-preview",
        json={"template": "Hi", "influencer_id": ada["id"]},
        headers=acme.read,
    )
    assert read_only.status_code == 403


async def test_a_template_costs_a_fixed_number_of_queries_however_many_tags(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "approved")
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )

    async def statements_to_render(template: str) -> int:
        with count_statements(db) as seen:
            response = await _preview(client, tenant, camp["id"], ada["id"], template)
        assert response.status_code == 200, response.text
        return len(seen)

    one = await statements_to_render("{{tracking_link:Shop}}")
    assert await statements_to_render("{{tracking_link:Shop}} {{all_tracking_links}}" * 10) == one


async def test_a_refused_render_makes_no_copy(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "applied")  # no copy until rendered
    await client.post(
        f"/v1/campaigns/{camp['id']}/links",
        json={"name": "Shop", "destination": "https://s.example"},
        headers=tenant.write,
    )
    response = await _preview(client, tenant, camp["id"], ada["id"], "{{tracking_link:Shop}} {{tracking_link:Nope}}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.template"]
    assert await _links(client, tenant, influencer_id=ada["id"]) == []
