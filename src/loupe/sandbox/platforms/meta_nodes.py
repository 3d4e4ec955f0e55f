"""Meta Graph node shapes: the fields of users' Pages (with their Page tokens), Instagram users,
media and Page posts, as meta_graph.py renders them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..common import b64
from ..state import Sandbox
from ..tokens import Token
from ..world import DAY, STORY_LIFETIME, Account, Creator, Item, frac
from .meta_common import iso, page_limit, pick

CDN = "scontent.cdninstagram.com"


@dataclass
class Node:
    kind: str  # user | page | iguser | media | post
    id: str
    account: Account | None = None
    item: Item | None = None
    creator: Creator | None = None


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


def page_fields(sandbox: Sandbox, token: Token, page: Account) -> dict[str, object]:
    now = sandbox.now()
    followers = page.followers_at(now, sandbox.world.anchor)
    ig = linked_ig(sandbox, page)
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
        "instagram_business_account": {"id": ig} if ig else None,
        "access_token": page_token(sandbox, token, page) if token.kind == "access" else token.value,
    }


def accounts_edge(request: Request, sandbox: Sandbox, token: Token, node: Node, fields: dict[str, str]) -> dict:
    assert node.creator is not None
    pages = [
        p
        for p in node.creator.accounts.get("facebook", [])
        if p.id in token.targets and not (p.ig_id and sandbox.faults.has("instagram", p.ig_id, "no_linked_page"))
    ]
    limit = page_limit(request)
    start = int(request.query_params.get("after", "0") or 0) if request.query_params.get("after", "").isdigit() else 0
    chunk = pages[start : start + limit]
    default = ["access_token", "category", "category_list", "name", "id", "tasks"]
    rows = [pick("Page", page_fields(sandbox, token, p), fields, default) for p in chunk]
    body: dict[str, object] = {"data": rows}
    if chunk:
        body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
        if start + len(chunk) < len(pages):
            from ..common import with_query

            body["paging"]["next"] = with_query(request, after=str(start + len(chunk)))  # type: ignore[index]
    return body


def ig_user_fields(sandbox: Sandbox, token: Token, acct: Account) -> dict[str, object]:
    now = sandbox.now()
    account_type = "PERSONAL" if sandbox.faults.has("instagram", acct.id, "personal_account") else acct.account_type
    return {
        "id": acct.id,
        "user_id": acct.id,
        "ig_id": int(acct.id[-10:]),
        "username": acct.username,
        "name": acct.name,
        "account_type": account_type if token.family == "ig" else None,
        "biography": f"{acct.name} ✨ crème brûlée addict · São Paulo ↔ Zürich · #HappySpring",
        "website": f"https://example.com/{acct.username}",
        "profile_picture_url": picture(acct),
        "followers_count": acct.followers_at(now, sandbox.world.anchor),
        "follows_count": acct.following,
        "media_count": sandbox.world.feed_count(acct, now),
    }


def media_fields(request: Request, sandbox: Sandbox, acct: Account, item: Item, fields: dict[str, str]) -> dict:
    now = sandbox.now()
    story = item.kind == "STORY"
    media_type = ("VIDEO" if item.seq % 3 == 0 else "IMAGE") if story else item.kind
    product = "STORY" if story else "REELS" if media_type == "VIDEO" else "FEED"
    shortcode = b64(item.id)[:11]
    ext = "mp4" if media_type == "VIDEO" else "jpg"
    # CDN URLs are signed and expire (stories: with the story) so connectors must copy media promptly
    expiry = int(item.published_at + STORY_LIFETIME if story else now + 3 * DAY)
    base = str(request.base_url).rstrip("/")
    media_url = f"{base}/{CDN}/v/t51/{item.id}.{ext}?oe={expiry:X}"
    copyrighted = media_type == "VIDEO" and not story and item.seq % 17 == 0
    m = item.metrics(now)
    hidden_likes = not story and item.seq % 29 == 0
    available = {
        "id": item.id,
        "caption": item.text,
        "media_type": media_type,
        "media_product_type": product,
        "media_url": None if copyrighted else media_url,
        "thumbnail_url": f"{base}/{CDN}/v/t51/{item.id}_thumb.jpg?oe={expiry:X}" if media_type == "VIDEO" else None,
        "permalink": f"https://www.instagram.com/stories/{acct.username}/{item.id}/"
        if story
        else f"https://www.instagram.com/{'reel' if product == 'REELS' else 'p'}/{shortcode}/",
        "shortcode": shortcode,
        "timestamp": iso(item.published_at),
        "username": acct.username,
        "owner": {"id": acct.id},
        "is_comment_enabled": not story,
        "like_count": None if story or hidden_likes else m["likes"],
        "comments_count": None if story else m["comments"],
        "children": {"data": [{"id": f"{item.id}{n}"} for n in range(item.children)]} if item.children else None,
        "is_shared_to_feed": (True if product == "REELS" else None),
    }
    return pick("IGMedia", available, fields, ["id"])


def post_fields(sandbox: Sandbox, item: Item, fields: dict[str, str]) -> dict:
    m = item.metrics(sandbox.now())
    page_id, _, post_part = item.id.partition("_")
    reactions = m["likes"] + int(m["likes"] * 0.2 * frac(item.id, "reactions"))

    def edge(name: str, total: int) -> dict[str, object] | None:
        if name not in fields:
            return None
        summary = ".summary(" in fields[name]
        out: dict[str, object] = {"data": []}
        if summary:
            out["summary"] = (
                {"total_count": total}
                if name == "reactions"
                else {"order": "ranked", "total_count": total, "can_comment": True}
            )
        return out

    available = {
        "id": item.id,
        "message": item.text,
        "created_time": iso(item.published_at),
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_part}",
        "shares": {"count": m["shares"]} if m["shares"] else None,  # absent when never shared, like Graph
        "reactions": edge("reactions", reactions),
        "comments": edge("comments", m["comments"]),
        "likes": edge("likes", m["likes"]),
        "status_type": "added_photos",
        "full_picture": f"https://{CDN}/v/t39/{item.id}.jpg",
        "from": {"id": page_id},
    }
    return pick("Post", available, fields, ["created_time", "message", "id"])
