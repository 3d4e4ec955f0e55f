"""Meta Graph nodes and edges: users (with their Pages and Page tokens), Pages, Instagram users, media
(album children included), Page posts.

Each node type has one table of fields (`*_fields`): plain values, `Lazy` values computed only when
asked for, and `Edge`s. An edge is read the same way whether it is a path (`/{ig-id}/media?limit=5`) or an
expanded field (`/{ig-id}?fields=media.limit(5){id,children{media_url}}`): only where its query comes
from differs (`EdgeQuery.top` / `EdgeQuery.nested`). So field expansion works on every edge served here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request

from ..common import b64, cursor_for, parse_cursor, with_query
from ..state import Sandbox
from ..tokens import Token
from ..world import DAY, STORY_LIFETIME, Account, Creator, Item, frac
from .meta_common import GraphError, iso
from .meta_fields import FieldSpec, Lazy, parse_fields, pick, unparse

CDN = "scontent.cdninstagram.com"
DEFAULT_LIMIT, MAX_LIMIT = 25, 100


@dataclass
class Node:
    kind: str  # user | page | iguser | media | post
    id: str
    account: Account | None = None
    item: Item | None = None  # media: the item; album child: its album
    creator: Creator | None = None
    child: int | None = None  # album children: the index in the album


@dataclass
class Ctx:
    """One Graph request: who asks, and where the answer's links point."""

    request: Request
    sandbox: Sandbox
    token: Token
    graph_base: str  # e.g. http://127.0.0.1:8100/graph.facebook.com/v23.0, for the `next` links of nested edges

    @property
    def now(self) -> float:
        return self.sandbox.now()

    @property
    def cdn_base(self) -> str:
        return f"{str(self.request.base_url).rstrip('/')}/{CDN}"


def require(token: Token, *scopes: str) -> None:
    if not any(s in token.scopes for s in scopes):
        raise GraphError(10, "(#10) Application does not have permission for this action", status=403)


# ----- edges and their paging -----
@dataclass
class EdgeQuery:
    """How an edge is read: its fields, page size, cursor, `since`, and how to link to another page."""

    fields: list[FieldSpec]
    limit: str | None
    after: str | None
    since: str | None
    link: Callable[[dict[str, str | None]], str]
    summary: str | None = None  # `?summary=true` / `.summary(total_count)` on reactions, comments, likes

    @classmethod
    def top(cls, request: Request) -> EdgeQuery:
        """`/{id}/{edge}?fields=&limit=&after=&since=`: `next` is the request's own URL, cursor replaced."""
        q = request.query_params
        return cls(
            fields=parse_fields(q.get("fields")),
            limit=q.get("limit"),
            after=q.get("after"),
            since=q.get("since"),
            link=lambda changes: with_query(request, **changes),
            summary=q.get("summary"),
        )

    @classmethod
    def nested(cls, ctx: Ctx, node_id: str, edge: str, spec: FieldSpec) -> EdgeQuery:
        """`?fields=edge.limit(n).after(c).since(t){sub}`: `next` is the edge's own path, as on Graph."""
        limit = spec.modifiers.get("limit")
        base: dict[str, str] = {}
        for key in ("access_token", "appsecret_proof"):  # only what the caller put in the query itself
            if key in ctx.request.query_params:
                base[key] = ctx.request.query_params[key]
        if spec.sub:
            base["fields"] = unparse(spec.sub)
        base["limit"] = limit or str(DEFAULT_LIMIT)

        def link(changes: dict[str, str | None]) -> str:
            query = {**base, **{k: v for k, v in changes.items() if v is not None}}
            for key, value in changes.items():
                if value is None:
                    query.pop(key, None)
            return f"{ctx.graph_base}/{node_id}/{edge}?{urlencode(query)}"

        mods = spec.modifiers
        return cls(spec.sub or [], limit, mods.get("after"), mods.get("since"), link, mods.get("summary"))

    def page_size(self, minimum: int = 1) -> int:
        raw = self.limit if self.limit is not None else str(DEFAULT_LIMIT)
        if not raw.isdigit():
            raise GraphError(100, "(#100) Param limit must be a positive integer")
        return max(minimum, min(int(raw), MAX_LIMIT))

    def after_cursor(self) -> tuple[float, str] | None:
        parsed = parse_cursor(self.after, "QVFI")
        if parsed is False:
            raise GraphError(100, "(#100) The after cursor is invalid")
        return parsed or None  # type: ignore[return-value]

    def since_time(self) -> float | None:
        """Graph accepts `since` as a Unix timestamp or an ISO date."""
        if not self.since:
            return None
        try:
            return float(self.since)
        except ValueError:
            try:
                return dt.datetime.fromisoformat(self.since.replace("Z", "+00:00")).replace(tzinfo=dt.UTC).timestamp()
            except ValueError:
                raise GraphError(100, "(#100) The parameter since is not a valid time") from None


class Edge(Lazy):
    """An edge of a node: readable as a path and as an expanded field. Expanded and empty, it is left
    out of the answer, as Graph leaves out empty edges."""

    def __init__(self, ctx: Ctx, node_id: str, name: str, read: Callable[[EdgeQuery], dict]) -> None:
        self.read = read

        def expand(spec: FieldSpec) -> dict | None:
            body = read(EdgeQuery.nested(ctx, node_id, name, spec))
            return body if body.get("data") or "summary" in body else None

        super().__init__(expand)


def paged(q: EdgeQuery, rows: list[dict], items: list[Item], has_more: bool) -> dict[str, object]:
    """Graph envelope: `cursors` always, `next` only when another page exists, `previous` after page 1."""
    body: dict[str, object] = {"data": rows}
    if not items:
        return body
    first, last = items[0], items[-1]
    before = cursor_for(first.published_at, first.id, "QVFI")
    after = cursor_for(last.published_at, last.id, "QVFI")
    paging: dict[str, object] = {"cursors": {"before": before, "after": after}}
    if has_more:
        paging["next"] = q.link({"after": after, "before": None})
    if q.after:
        paging["previous"] = q.link({"before": before, "after": None})
    body["paging"] = paging
    return body


# ----- users and Pages -----
def picture(acct: Account) -> str:
    return f"https://{CDN}/v/t51/profile/{acct.id}.jpg"


def linked_ig(sandbox: Sandbox, page: Account) -> str | None:
    ig = sandbox.world.account("instagram", page.ig_id) if page.ig_id else None
    if ig is None or sandbox.faults.has("instagram", ig.id, "personal_account"):
        return None
    return ig.id


def page_token(sandbox: Sandbox, user_token: Token, page: Account) -> str:
    cache = sandbox.tokens.__dict__.setdefault("page_tokens", {})
    key = (user_token.value, page.id)
    if key not in cache:
        # Page tokens from a long-lived user token never expire; from a short-lived one they expire with it
        lifetime = (
            None if user_token.long_lived or user_token.expires_at is None else user_token.expires_at - sandbox.now()
        )
        cache[key] = sandbox.tokens.issue(
            platform="facebook",
            family="fb",
            kind="page",
            account_id=page.id,
            user_id=user_token.user_id,
            scopes=user_token.scopes,
            client_id=user_token.client_id,
            now=sandbox.now(),
            lifetime=lifetime,
            targets=[page.id] + ([page.ig_id] if page.ig_id else []),
            long_lived=user_token.long_lived,
            origin=(user_token.platform, user_token.account_id),
        ).value
    return cache[key]  # type: ignore[no-any-return]


def user_fields(ctx: Ctx, node: Node) -> dict[str, object]:
    assert node.creator is not None
    granted = {"data": [{"permission": s, "status": "granted"} for s in ctx.token.scopes]}
    return {
        "id": node.id,
        "name": node.creator.name,
        "accounts": Edge(ctx, node.id, "accounts", lambda q: accounts_edge(ctx, node, q)),
        "permissions": Edge(ctx, node.id, "permissions", lambda q: granted),
    }


def accounts_edge(ctx: Ctx, node: Node, q: EdgeQuery) -> dict:
    require(ctx.token, "pages_show_list", "business_management")
    assert node.creator is not None
    sandbox = ctx.sandbox
    pages = [
        p
        for p in node.creator.accounts.get("facebook", [])
        if p.id in ctx.token.targets and not (p.ig_id and sandbox.faults.has("instagram", p.ig_id, "no_linked_page"))
    ]
    limit = q.page_size()
    start = int(q.after) if q.after and q.after.isdigit() else 0
    chunk = pages[start : start + limit]
    default = ["access_token", "category", "category_list", "name", "id", "tasks"]
    rows = [pick("Page", page_fields(ctx, p), q.fields, default) for p in chunk]
    body: dict[str, object] = {"data": rows}
    if chunk:
        paging: dict[str, object] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
        if start + len(chunk) < len(pages):
            paging["next"] = q.link({"after": str(start + len(chunk))})
        body["paging"] = paging
    return body


def page_fields(ctx: Ctx, page: Account) -> dict[str, object]:
    sandbox, token = ctx.sandbox, ctx.token
    followers = page.followers_at(ctx.now, sandbox.world.anchor)
    ig = linked_ig(sandbox, page)

    def instagram_business_account(spec: FieldSpec) -> dict | None:
        if ig is None:
            return None
        acct = sandbox.world.account("instagram", ig)
        assert acct is not None
        if any(s.name != "id" for s in spec.sub or []):  # more than the id is Instagram data
            require(token, "instagram_basic")
        return pick("IGUser", ig_user_fields(ctx, acct), spec.sub or [], ["id"])

    posts = {
        name: Edge(ctx, page.id, name, lambda q: posts_edge(ctx, page, q))
        for name in ("posts", "published_posts", "feed")
    }
    return {
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "fan_count": int(followers * 0.93),
        "followers_count": followers,
        "link": f"https://www.facebook.com/{page.username}",
        "picture": {"data": {"height": 50, "width": 50, "is_silhouette": False, "url": picture(page)}},
        "category": "Digital creator",
        "about": f"Official page of {page.name}",
        "category_list": [{"id": "1350536325044173", "name": "Digital creator"}],
        "tasks": ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"],
        "instagram_business_account": Lazy(instagram_business_account),
        "access_token": page_token(sandbox, token, page) if token.kind == "access" else token.value,
        **posts,
    }


def posts_edge(ctx: Ctx, page: Account, q: EdgeQuery) -> dict:
    require(ctx.token, "pages_read_engagement", "pages_show_list", "pages_read_user_content")
    items, more = ctx.sandbox.world.feed_page(page, ctx.now, q.after_cursor(), q.page_size(), since=q.since_time())
    default = ["created_time", "message", "id"]
    return paged(q, [pick("Post", post_fields(ctx, it), q.fields, default) for it in items], items, more)


def post_fields(ctx: Ctx, item: Item) -> dict[str, object]:
    m = item.metrics(ctx.now)
    page_id, _, post_part = item.id.partition("_")
    reactions = m["likes"] + int(m["likes"] * 0.2 * frac(item.id, "reactions"))

    def summary_edge(name: str, total: int) -> Edge:
        def read(q: EdgeQuery) -> dict:
            out: dict[str, object] = {"data": []}  # the sandbox keeps no individual reactions or comments
            if q.summary is not None:
                out["summary"] = (
                    {"total_count": total}
                    if name == "reactions"
                    else {"order": "ranked", "total_count": total, "can_comment": True}
                )
            return out

        return Edge(ctx, item.id, name, read)

    return {
        "id": item.id,
        "message": item.text,
        "created_time": iso(item.published_at),
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_part}",
        "shares": {"count": m["shares"]} if m["shares"] else None,  # absent when never shared, like Graph
        "reactions": summary_edge("reactions", reactions),
        "comments": summary_edge("comments", m["comments"]),
        "likes": summary_edge("likes", m["likes"]),
        "status_type": "added_photos",
        "full_picture": f"https://{CDN}/v/t39/{item.id}.jpg",
        "from": {"id": page_id},
    }


# ----- Instagram users and media -----
def ig_user_fields(ctx: Ctx, acct: Account) -> dict[str, object]:
    sandbox, now = ctx.sandbox, ctx.now
    account_type = "PERSONAL" if sandbox.faults.has("instagram", acct.id, "personal_account") else acct.account_type
    return {
        "id": acct.id,
        "user_id": acct.id,
        "ig_id": int(acct.id[-10:]),
        "username": acct.username,
        "name": acct.name,
        "account_type": account_type if ctx.token.family == "ig" else None,
        "biography": f"{acct.name} ✨ crème brûlée addict · São Paulo ↔ Zürich · #HappySpring",
        "website": f"https://example.com/{acct.username}",
        "profile_picture_url": picture(acct),
        "followers_count": acct.followers_at(now, sandbox.world.anchor),
        "follows_count": acct.following,
        "media_count": sandbox.world.feed_count(acct, now),
        "media": Edge(ctx, acct.id, "media", lambda q: media_edge(ctx, acct, q)),
        "stories": Edge(ctx, acct.id, "stories", lambda q: stories_edge(ctx, acct, q)),
    }


def professional(acct: Account) -> None:
    if acct.account_type == "PERSONAL":
        raise GraphError(10, "(#10) Application does not have permission for this action", status=403)


def media_edge(ctx: Ctx, acct: Account, q: EdgeQuery) -> dict:
    professional(acct)
    items, more = ctx.sandbox.world.feed_page(acct, ctx.now, q.after_cursor(), q.page_size(), since=q.since_time())
    return paged(q, [pick("IGMedia", media_fields(ctx, acct, it), q.fields, ["id"]) for it in items], items, more)


def stories_edge(ctx: Ctx, acct: Account, q: EdgeQuery) -> dict:
    professional(acct)
    before, limit = q.after_cursor(), q.page_size()
    live = [
        it
        for it in ctx.sandbox.world.live_stories(acct, ctx.now)  # newest first
        if before is None or (it.published_at, it.id) < before
    ]
    items = live[:limit]
    rows = [pick("IGMedia", media_fields(ctx, acct, it), q.fields, ["id"]) for it in items]
    return paged(q, rows, items, len(live) > limit)


def children_edge(ctx: Ctx, acct: Account, album: Item, q: EdgeQuery) -> dict:
    """An album's children are IG Media in their own right (readable at `/{child-id}` too)."""
    rows = [pick("IGMedia", child_fields(ctx, acct, album, n), q.fields, ["id"]) for n in range(album.children)]
    return {"data": rows}


def owner_field(ctx: Ctx, acct: Account) -> Lazy:
    return Lazy(lambda spec: pick("IGUser", ig_user_fields(ctx, acct), spec.sub or [], ["id"]))


def media_fields(ctx: Ctx, acct: Account, item: Item) -> dict[str, object]:
    now = ctx.now
    story = item.kind == "STORY"
    media_type = ("VIDEO" if item.seq % 3 == 0 else "IMAGE") if story else item.kind
    product = "STORY" if story else "REELS" if media_type == "VIDEO" else "FEED"
    shortcode = b64(item.id)[:11]
    ext = "mp4" if media_type == "VIDEO" else "jpg"
    # CDN URLs are signed and expire (stories: with the story) so connectors must copy media promptly
    expiry = int(item.published_at + STORY_LIFETIME if story else now + 3 * DAY)
    media_url = f"{ctx.cdn_base}/v/t51/{item.id}.{ext}?oe={expiry:X}"
    copyrighted = media_type == "VIDEO" and not story and item.seq % 17 == 0
    m = item.metrics(now)
    hidden_likes = not story and item.seq % 29 == 0
    return {
        "id": item.id,
        "caption": item.text,
        "media_type": media_type,
        "media_product_type": product,
        "media_url": None if copyrighted else media_url,
        "thumbnail_url": f"{ctx.cdn_base}/v/t51/{item.id}_thumb.jpg?oe={expiry:X}" if media_type == "VIDEO" else None,
        "permalink": f"https://www.instagram.com/stories/{acct.username}/{item.id}/"
        if story
        else f"https://www.instagram.com/{'reel' if product == 'REELS' else 'p'}/{shortcode}/",
        "shortcode": shortcode,
        "timestamp": iso(item.published_at),
        "username": acct.username,
        "owner": owner_field(ctx, acct),
        "is_comment_enabled": not story,
        "like_count": None if story or hidden_likes else m["likes"],
        "comments_count": None if story else m["comments"],
        "children": Edge(ctx, item.id, "children", lambda q: children_edge(ctx, acct, item, q)),
        "is_shared_to_feed": (True if product == "REELS" else None),
    }


def child_fields(ctx: Ctx, acct: Account, album: Item, n: int) -> dict[str, object]:
    """An album child: a photo or a video of its own, published with the album. Meta: "some fields, such
    as permalink, cannot be used on photos within albums"; those (and the album-level counts) are absent."""
    child_id = album.child_ids()[n]
    video = frac(album.id, "child", n) < 0.3
    expiry = int(ctx.now + 3 * DAY)
    media_url = f"{ctx.cdn_base}/v/t51/{child_id}.{'mp4' if video else 'jpg'}?oe={expiry:X}"
    return {
        "id": child_id,
        "media_type": "VIDEO" if video else "IMAGE",
        "media_url": media_url,
        "thumbnail_url": f"{ctx.cdn_base}/v/t51/{child_id}_thumb.jpg?oe={expiry:X}" if video else None,
        "timestamp": iso(album.published_at),
        "username": acct.username,
        "owner": owner_field(ctx, acct),
        "is_shared_to_feed": None,
        # IG Media fields an album child does not carry
        "caption": None,
        "media_product_type": None,
        "permalink": None,
        "shortcode": None,
        "is_comment_enabled": None,
        "like_count": None,
        "comments_count": None,
        "children": Edge(ctx, child_id, "children", lambda q: {"data": []}),
    }
