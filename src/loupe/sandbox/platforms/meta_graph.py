"""Meta Graph data: users, Pages, Instagram accounts, media, stories and insights on both Graph hosts."""

from __future__ import annotations

import hashlib
import hmac
import re

from starlette.requests import Request
from starlette.responses import Response

from ..common import auth_token, json, sandbox_of
from ..state import Sandbox
from ..tokens import Token
from . import meta_insights as insights
from .meta_common import GraphError, fault_error, graph_error, meter, token_error
from .meta_fields import pick
from .meta_nodes import (
    Ctx,
    Edge,
    EdgeQuery,
    Node,
    child_fields,
    ig_user_fields,
    media_fields,
    page_fields,
    post_fields,
    professional,
    require,
    user_fields,
)
from .meta_oauth import debug_token, fb_access_token, ig_exchange, ig_refresh

VERSION = re.compile(r"v\d+(\.\d+)?")


def graph_endpoint(family: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        parts = [p for p in request.path_params["path"].split("/") if p]
        if parts and VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        special = {
            ("fb", "oauth/access_token"): fb_access_token,
            ("fb", "debug_token"): debug_token,
            ("ig", "access_token"): ig_exchange,
            ("ig", "refresh_access_token"): ig_refresh,
        }
        handler = special.get((family, "/".join(parts)))
        if handler is not None:
            return await handler(request)
        try:
            return await dispatch(request, sandbox, family, parts)
        except GraphError as err:
            return graph_error(err)

    return endpoint


def not_found(node_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        33,
    )


def authenticate(request: Request, sandbox: Sandbox, family: str) -> Token:
    value = request.query_params.get("access_token") or auth_token(request, "Bearer", "OAuth")
    if not value:
        raise GraphError(2500, "An active access token must be used to query information about the current user.")
    token = sandbox.tokens.get(value)
    if token is None or token.family != family:
        raise token_error("invalid", None, sandbox.now())  # tokens are not interchangeable between hosts
    problem = sandbox.token_problem(token)
    if problem:
        raise token_error(problem, token, sandbox.now())
    proof = request.query_params.get("appsecret_proof")
    if proof is not None:  # checked when sent ("Require App Secret"); optional otherwise
        platform = sandbox.client_platform(token.client_id, ("instagram", "facebook")) or "facebook"
        expected = hmac.new(sandbox.credentials[platform][1].encode(), value.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(proof, expected):
            raise GraphError(100, "Invalid appsecret_proof provided in the API argument")
    return token


def resolve(sandbox: Sandbox, token: Token, node_id: str) -> Node:
    world = sandbox.world
    if node_id == "me":
        if token.family == "ig" or token.kind == "page":
            node_id = token.account_id
        else:
            return Node("user", token.user_id, creator=world.fb_users.get(token.user_id))
    if token.family == "fb" and node_id in world.fb_users:
        node = Node("user", node_id, creator=world.fb_users[node_id])
    elif (acct := world.account("instagram", node_id)) is not None:
        node = Node("iguser", node_id, account=acct)
    elif token.family == "fb" and (acct := world.account("facebook", node_id)) is not None:
        node = Node("page", node_id, account=acct)
    elif (item := world.find_item("instagram", node_id)) is not None:
        node = Node("media", node_id, account=world.account("instagram", item.account_id), item=item)
    elif token.family == "fb" and (item := world.find_item("facebook", node_id)) is not None:
        node = Node("post", node_id, account=world.account("facebook", item.account_id), item=item)
    elif (child := world.find_child("instagram", node_id)) is not None:
        album, index = child
        node = Node("media", node_id, account=world.account("instagram", album.account_id), item=album, child=index)
    else:
        raise not_found(node_id)
    if not allowed(sandbox, token, node):
        raise not_found(node_id)
    return node


def allowed(sandbox: Sandbox, token: Token, node: Node) -> bool:
    if node.kind == "user":
        return node.id == token.user_id
    assert node.account is not None
    acct = node.account
    if token.family == "ig":
        return acct.id == token.account_id
    if token.kind == "page":
        page = sandbox.world.account("facebook", token.account_id)
        return acct.id == token.account_id or (page is not None and acct.id == page.ig_id)
    return acct.id in token.targets


async def dispatch(request: Request, sandbox: Sandbox, family: str, parts: list[str]) -> Response:
    if not parts or len(parts) > 2:
        raise GraphError(100, "Unknown path components: /" + "/".join(parts[2:]))
    token = authenticate(request, sandbox, family)
    node = resolve(sandbox, token, parts[0])
    edge = parts[1] if len(parts) == 2 else ""
    if request.method == "DELETE" and node.kind == "user" and edge == "permissions":
        for other in sandbox.tokens.tokens.values():  # app removal revokes every grant of this person
            if other.user_id == token.user_id and other.client_id == token.client_id:
                other.revoked = True
        return json({"success": True})
    business = node.account.id if node.account else None
    buc_type = "pages" if node.kind in {"page", "post"} else "instagram"
    platform = "facebook" if buc_type == "pages" else "instagram"
    fault = await sandbox.call_fault(platform, [business]) or await sandbox.call_fault(
        token.platform, [token.account_id]
    )
    if fault:
        raise fault_error(fault, business, buc_type)
    headers = meter(sandbox, token, business, buc_type)
    full, path = request.url.path, request.path_params["path"]
    prefix = full[: len(full) - len(path)].rstrip("/")  # /graph.facebook.com
    version = request.path_params["path"].split("/", 1)[0]
    base = f"{str(request.base_url).rstrip('/')}{prefix}" + (f"/{version}" if VERSION.fullmatch(version) else "")
    try:
        body = render(Ctx(request, sandbox, token, base), node, edge)
    except GraphError as err:
        err.headers = {**headers, **err.headers}
        raise
    return json(body, headers=headers)


def render(ctx: Ctx, node: Node, edge: str) -> dict:
    """`/{node}` picks fields (expanding edges); `/{node}/{edge}` reads the edge the same way."""
    token = ctx.token
    q = EdgeQuery.top(ctx.request)
    if node.kind == "user":
        return read(ctx, "User", user_fields(ctx, node), q, edge, ["id", "name"])
    acct = node.account
    assert acct is not None
    insights_scope = "instagram_business_manage_insights" if token.family == "ig" else "instagram_manage_insights"
    if node.kind == "iguser":
        require(token, "instagram_business_basic" if token.family == "ig" else "instagram_basic")
        if edge == "insights":
            professional(acct)
            require(token, insights_scope)
            return insights.account(ctx.request, ctx.sandbox, acct)
        default = ["id"] if token.family == "fb" else ["id", "username"]
        return read(ctx, "IGUser", ig_user_fields(ctx, acct), q, edge, default)
    if node.kind == "media":
        assert node.item is not None
        if edge == "insights":
            require(token, insights_scope)
            if node.child is not None:
                return insights.album_child(ctx.request)
            return insights.media(ctx.request, ctx.sandbox, node.item)
        if node.child is not None:
            return read(ctx, "IGMedia", child_fields(ctx, acct, node.item, node.child), q, edge, ["id"])
        return read(ctx, "IGMedia", media_fields(ctx, acct, node.item), q, edge, ["id"])
    require(token, "pages_read_engagement", "pages_show_list", "pages_read_user_content")
    if node.kind == "post":
        assert node.item is not None
        return read(ctx, "Post", post_fields(ctx, node.item), q, edge, ["created_time", "message", "id"])
    if edge == "insights":
        return insights.page(ctx.request, ctx.sandbox, acct)
    return read(ctx, "Page", page_fields(ctx, acct), q, edge, ["name", "id"])


def read(ctx: Ctx, node_type: str, available: dict[str, object], q: EdgeQuery, edge: str, default: list[str]) -> dict:
    if not edge:
        return pick(node_type, available, q.fields, default)
    target = available.get(edge)
    if not isinstance(target, Edge):
        raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type ({node_type})")
    return target.read(q)
