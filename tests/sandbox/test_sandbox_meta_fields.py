"""Graph field expansion: `edge{field,field}` with `.limit(n)` on every edge the sandbox serves, album
children as IG Media in their own right, and Graph's syntax errors."""

from __future__ import annotations

from typing import Any

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import first
from .test_sandbox_meta_data import biggest, mint

GRAPH = "/graph.facebook.com/v23.0"
CHILD_FIELDS = "id,media_type,media_url,timestamp"
# python-facebook-api's default media fields (pyfacebook.utils.constant): its users ask for children this way
PYFACEBOOK_FIELDS = (
    "caption,comments_count,id,like_count,media_type,media_url,permalink,timestamp,username,"
    "children{id,media_type,media_url,permalink,timestamp,username}"
)


async def get(client: httpx.AsyncClient, path: str, token: str, **params: Any) -> Any:
    r = await client.get(path, params={**params, "access_token": token})
    return r.json()


async def albums(client: httpx.AsyncClient, ig_id: str, token: str, fields: str) -> list[dict[str, Any]]:
    body = await get(client, f"{GRAPH}/{ig_id}/media", token, fields=fields, limit=100)
    found = [m for m in body["data"] if m["media_type"] == "CAROUSEL_ALBUM"]
    assert found, "the big account has albums"
    return found


async def test_children_expand_on_the_media_edge(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    body = await get(
        client, f"{GRAPH}/{ig.id}/media", token, fields=f"id,media_type,timestamp,children{{{CHILD_FIELDS}}}"
    )
    media = body["data"]
    assert len(media) == 25 and "next" in body["paging"]
    assert all(("children" in m) == (m["media_type"] == "CAROUSEL_ALBUM") for m in media)  # empty edges left out
    for album in (m for m in media if m["media_type"] == "CAROUSEL_ALBUM"):
        children = album["children"]["data"]
        assert 2 <= len(children) <= 10 and len({c["id"] for c in children}) == len(children)
        for child in children:
            assert set(child) == {"id", "media_type", "media_url", "timestamp"}
            assert child["media_type"] in {"IMAGE", "VIDEO"} and child["timestamp"] == album["timestamp"]
            assert (await client.get(child["media_url"])).status_code == 200  # the CDN serves it
    plain = await get(client, f"{GRAPH}/{ig.id}/media", token, fields="id,children", limit=100)
    album = next(m for m in plain["data"] if "children" in m)
    assert all(set(c) == {"id"} for c in album["children"]["data"])  # no sub-fields: ids, as before


async def test_children_are_media_in_their_own_right(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    album = (await albums(client, ig.id, token, f"id,media_type,children{{{CHILD_FIELDS}}}"))[0]  # type: ignore[attr-defined]
    expanded = album["children"]["data"]
    edge = await get(client, f"{GRAPH}/{album['id']}/children", token, fields=CHILD_FIELDS)
    assert edge == {"data": expanded}
    assert await get(client, f"{GRAPH}/{album['id']}/children", token) == {"data": [{"id": c["id"]} for c in expanded]}
    child = expanded[0]
    node = await get(client, f"{GRAPH}/{child['id']}", token, fields=f"{CHILD_FIELDS},username,owner,permalink,caption")
    # Meta: "some fields, such as permalink, cannot be used on photos within albums"
    assert node == {**child, "username": ig.username, "owner": {"id": ig.id}}  # type: ignore[attr-defined]
    assert await get(client, f"{GRAPH}/{child['id']}", token) == {"id": child["id"]}
    assert await get(client, f"{GRAPH}/{child['id']}/insights", token, metric="reach,views") == {"data": []}
    assert (await get(client, f"{GRAPH}/{child['id']}/insights", token, metric="impressions"))["error"]["code"] == 100
    assert await get(client, f"{GRAPH}/{child['id']}/children", token) == {"data": []}
    missing = f"{album['id']}9"  # no album has ten children
    err = (await get(client, f"{GRAPH}/{missing}", token))["error"]
    assert (err["code"], err["error_subcode"]) == (100, 33)
    other = next(a for a in sandbox.world.accounts["instagram"].values() if a.page_id and a.id != ig.id)  # type: ignore[attr-defined]
    foreign = await mint(client, "instagram", other.id)
    err = (await get(client, f"{GRAPH}/{child['id']}", foreign))["error"]
    assert (err["code"], err["error_subcode"]) == (100, 33)


async def test_python_facebook_api_default_fields(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Those fields used to answer children as bare ids: every child field came back None."""
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    album = (await albums(client, ig.id, token, PYFACEBOOK_FIELDS))[0]  # type: ignore[attr-defined]
    assert album["permalink"].startswith("https://www.instagram.com/p/") and "caption" in album
    for child in album["children"]["data"]:
        assert child["media_url"] and child["media_type"] and child["timestamp"] and child["username"]
        assert "permalink" not in child
    single = await get(client, f"{GRAPH}/{album['id']}", token, fields=PYFACEBOOK_FIELDS)
    assert single["children"] == album["children"]


async def test_nested_edge_with_limit_pages_like_the_edge(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    sub = "id,caption,children{media_url}"
    node = await get(client, f"{GRAPH}/{ig.id}", token, fields=f"id,username,media.limit(5){{{sub}}}")  # type: ignore[attr-defined]
    assert node["username"] == ig.username and len(node["media"]["data"]) == 5  # type: ignore[attr-defined]
    edge = await get(client, f"{GRAPH}/{ig.id}/media", token, fields=sub, limit=5)  # type: ignore[attr-defined]
    assert node["media"]["data"] == edge["data"]
    assert node["media"]["paging"]["cursors"] == edge["paging"]["cursors"]
    # the nested `next` is the edge's own URL: following it reads page 2 of /{ig}/media
    nxt = node["media"]["paging"]["next"]
    assert f"{GRAPH}/{ig.id}/media?" in nxt  # type: ignore[attr-defined]
    page2 = (await client.get(nxt)).json()
    page2_edge = (await client.get(edge["paging"]["next"])).json()
    assert page2["data"] == page2_edge["data"] and len(page2["data"]) == 5
    assert not {m["id"] for m in page2["data"]} & {m["id"] for m in edge["data"]}
    both = await get(client, f"{GRAPH}/{ig.id}", token, fields="media.limit(2).as(recent){id},stories.limit(1){id}")
    assert len(both["recent"]["data"]) == 2 and "media" not in both
    assert len(both["stories"]["data"]) == 1 and "next" in both["stories"]["paging"]


async def test_expansion_on_accounts_pages_and_instagram_business_account(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id, login="facebook")
    fields = "id,name,accounts{id,name,instagram_business_account{id,username,media.limit(2){id,media_type}}}"
    me = await get(client, f"{GRAPH}/me", token, fields=fields)
    [page] = me["accounts"]["data"]
    assert page["id"] == ig.page_id
    linked = page["instagram_business_account"]
    assert (linked["id"], linked["username"]) == (ig.id, ig.username) and len(linked["media"]["data"]) == 2
    ids = await get(client, f"{GRAPH}/me/accounts", token, fields="instagram_business_account")
    assert ids["data"] == [{"instagram_business_account": {"id": ig.id}, "id": ig.page_id}]
    perms = await get(client, f"{GRAPH}/me", token, fields="permissions")
    assert {p["permission"] for p in perms["permissions"]["data"]} >= {"instagram_basic", "pages_show_list"}

    page_acct = max(sandbox.world.accounts["facebook"].values(), key=lambda p: p.history)
    page_token = await mint(client, "facebook", page_acct.id)
    posts = "posts.limit(3){id,message,reactions.summary(total_count).limit(0),comments.summary(true).limit(0)}"
    body = await get(client, f"{GRAPH}/{page_acct.id}", token=page_token, fields=f"id,name,{posts}")
    rows = body["posts"]["data"]
    assert len(rows) == 3 and all("total_count" in r["reactions"]["summary"] for r in rows)
    flat = await get(
        client,
        f"{GRAPH}/{page_acct.id}/posts",
        page_token,
        fields="id,message,reactions.summary(total_count).limit(0),comments.summary(true).limit(0)",
        limit=3,
    )
    assert rows == flat["data"]
    edge = await get(client, f"{GRAPH}/{rows[0]['id']}/reactions", page_token, summary="total_count", limit=0)
    assert edge == {"data": [], "summary": rows[0]["reactions"]["summary"]}


async def test_instagram_login_host_expands_too(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="MEDIA_CREATOR", page_id=None)
    token = await mint(client, "instagram", ig.id)  # an account without a Page gets a graph.instagram.com token
    me = await get(
        client,
        "/graph.instagram.com/v23.0/me",
        token,
        fields=f"user_id,media.limit(25){{id,children{{{CHILD_FIELDS}}}}}",
    )
    assert me["user_id"] == ig.id
    kids = [c for m in me["media"]["data"] for c in (m.get("children") or {}).get("data", [])]
    assert kids and all(c["media_url"] for c in kids)
    assert me["media"]["paging"]["next"].startswith("http://sandbox/graph.instagram.com/v23.0/")


async def test_field_syntax_and_unknown_nested_fields(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    url = f"{GRAPH}/{ig.id}/media"  # type: ignore[attr-defined]
    r = await client.get(url, params={"fields": "id,children{id}{media_url}", "access_token": token})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == 2500
    assert (
        err["message"]
        == 'Syntax error "Expected end of string instead of "{"." at character 15: id,children{id}{media_url}'
    )
    r = await client.get(url, params={"fields": "id,children{id", "access_token": token})
    assert r.json()["error"]["message"].startswith('Syntax error "Expected "}", got end of string"')
    r = await client.get(url, params={"fields": "id,,caption", "access_token": token})
    assert r.json()["error"]["message"].startswith('Syntax error "Expected name." at character 3')
    r = await client.get(url, params={"fields": "id,children{id,nonsense}", "limit": 100, "access_token": token})
    assert r.json()["error"]["code"] == 100 and "(nonsense) on node type (IGMedia)" in r.json()["error"]["message"]
    r = await client.get(url, params={"fields": "id,media.limit(x){id}", "access_token": token})
    assert r.json()["error"]["code"] == 100  # IG Media has no `media` field
    r = await client.get(f"{GRAPH}/{ig.id}", params={"fields": "media.limit(x){id}", "access_token": token})  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == 100 and "limit" in r.json()["error"]["message"]
    spaced = await get(client, url, token, fields=" id , children { id , media_url } ", limit=100)
    assert any("children" in m for m in spaced["data"])
