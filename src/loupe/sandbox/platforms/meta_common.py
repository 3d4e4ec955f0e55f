"""Meta Graph dialect: error envelope, usage headers and limits (`fields`: meta_fields.py; paging: meta_nodes.py)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from ..common import json
from ..faults import Fault
from ..state import Sandbox
from ..tokens import Token

MESSAGES = {
    "expired": (190, 463, "Error validating access token: Session has expired on {when}. The current time is {now}."),
    "password_changed": (
        190,
        460,
        "Error validating access token: The session has been invalidated because the "
        "user changed their password or Facebook has changed the session for security "
        "reasons.",
    ),
    "revoked": (190, 458, "Error validating access token: The user has not authorized application {app}."),
    "data_access_expired": (
        190,
        None,
        "Error validating access token: Data access has expired for this user; the user must re-authorize the app.",
    ),
    "invalid": (190, None, "Invalid OAuth access token - Cannot parse access token"),
}


class GraphError(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        is_transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode = code, message, subcode
        self.status = status or (500 if code in {1, 2} else 400)
        self.headers = headers or {}
        self.is_transient = is_transient


def graph_error(err: GraphError, ig_login_token_endpoint: bool = False) -> Response:
    body: dict[str, object] = {"message": err.message, "type": "OAuthException", "code": err.code}
    if err.subcode is not None:
        body["error_subcode"] = err.subcode
    if err.is_transient:
        body["is_transient"] = True
    if err.code == 190:
        body["error_user_title"] = "Session expired" if err.subcode == 463 else "Session invalid"
        body["error_user_msg"] = "Please log in again."
    body["fbtrace_id"] = "A" + hashlib.md5(err.message.encode()).hexdigest()[:10]
    return json({"error": body}, status=err.status, headers=err.headers)


def token_error(problem: str, token: Token | None, now: float) -> GraphError:
    code, subcode, template = MESSAGES[problem]
    fmt = "%A, %d-%b-%y %H:%M:%S UTC"
    when = time.strftime(fmt, time.gmtime(token.expires_at)) if token and token.expires_at else "unknown"
    message = template.format(when=when, now=time.strftime(fmt, time.gmtime(now)), app=token.client_id if token else "")
    return GraphError(code, message, subcode)


def fault_error(fault: Fault, business_id: str | None, buc_type: str) -> GraphError:
    if fault.fault == "server_error":
        return GraphError(2, "An unexpected error has occurred. Please retry your request later.", is_transient=True)
    # throttled: usage headers pinned at 100 like the real thing
    headers = usage_headers(100, business_id, buc_type, 100, 60)
    if fault.account and business_id:
        code = 80002 if buc_type == "instagram" else 80001
        return GraphError(
            code,
            f"(#{code}) There have been too many calls to this "
            f"{'Instagram' if code == 80002 else 'Pages'} account. Wait a bit and try again.",
            headers=headers,
        )
    return GraphError(4, "(#4) Application request limit reached", headers=headers)


# ----- usage accounting -----
@dataclass
class Usage:
    app_pct: int
    buc_pct: int | None
    regain_minutes: int


def usage_headers(
    app_pct: int, business_id: str | None, buc_type: str, buc_pct: int | None, regain: int
) -> dict[str, str]:
    app = {"call_count": app_pct, "total_time": app_pct // 2, "total_cputime": app_pct // 3}
    headers = {"X-App-Usage": orjson.dumps(app).decode()}
    if business_id and buc_pct is not None:
        buc = {
            business_id: [
                {
                    "type": buc_type,
                    "call_count": buc_pct,
                    "total_cputime": buc_pct // 3,
                    "total_time": buc_pct // 2,
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        headers["X-Business-Use-Case-Usage"] = orjson.dumps(buc).decode()
    return headers


def meter(sandbox: Sandbox, token: Token, business_id: str | None, buc_type: str) -> dict[str, str]:
    """Count one call; raise code 4 / 17 / 80002 (80001 for Pages) once usage has reached 100."""
    now, lim = sandbox.now(), sandbox.limits
    app = sandbox.meters.window(("meta-app", token.client_id), 3600)
    user = sandbox.meters.window(("meta-user", token.user_id), 3600)
    buc = sandbox.meters.window(("meta-buc", business_id or ""), 3600) if business_id else None

    def pct(count: int, limit: int) -> int:
        return min(100, math.ceil(count * 100 / max(1, limit)))

    def regain(win: object) -> int:
        return max(1, math.ceil((win.reset_at(now) - now) / 60))  # type: ignore[attr-defined]

    app_pct = pct(app.count(now), lim.meta_app_per_hour)
    buc_pct = pct(buc.count(now), lim.meta_buc_per_hour) if buc else None
    if app_pct >= 100:
        raise GraphError(
            4,
            "(#4) Application request limit reached",
            headers=usage_headers(100, business_id, buc_type, buc_pct, regain(app)),
        )
    if user.count(now) >= lim.meta_user_per_hour:
        raise GraphError(
            17,
            "(#17) User request limit reached",
            headers=usage_headers(app_pct, business_id, buc_type, buc_pct, regain(user)),
        )
    if buc is not None and buc_pct is not None and buc_pct >= 100:
        code = 80002 if buc_type == "instagram" else 80001
        raise GraphError(
            code,
            f"(#{code}) There have been too many calls to this "
            f"{'Instagram' if code == 80002 else 'Pages'} account. Wait a bit and try again.",
            headers=usage_headers(app_pct, business_id, buc_type, 100, regain(buc)),
        )
    app.hit(now)
    user.hit(now)
    if buc is not None:
        buc.hit(now)
        buc_pct = pct(buc.count(now), lim.meta_buc_per_hour)
    return usage_headers(
        pct(app.count(now), lim.meta_app_per_hour),
        business_id,
        buc_type,
        buc_pct,
        regain(buc) if buc is not None and buc_pct else 0,
    )


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))
