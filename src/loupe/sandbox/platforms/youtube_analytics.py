"""YouTube Analytics API v2 reports (totals by day, age/gender, country, city)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import json, sandbox_of
from ..world import Account, frac
from .youtube import ANALYTICS, google_error, guard

COLUMN_TYPES = {
    "views": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "likes": "INTEGER",
    "subscribersGained": "INTEGER",
    "subscribersLost": "INTEGER",
    "comments": "INTEGER",
    "shares": "INTEGER",
    "viewerPercentage": "FLOAT",
    "averageViewPercentage": "FLOAT",
}
AGE_GROUPS = {
    "13-17": "age13-17",
    "18-24": "age18-24",
    "25-34": "age25-34",
    "35-44": "age35-44",
    "45-54": "age45-54",
    "55-64": "age55-64",
    "65+": "age65-",
}
GENDERS = {"F": "female", "M": "male", "U": "user_specified"}


def unsupported() -> Response:
    return google_error(
        400,
        "The query is not supported. Check the documentation at https://developers.google.com/"
        "youtube/analytics/v2/available_reports for a list of supported queries.",
        "badRequest",
    )


def metric_values(acct: Account, key: str, metrics: list[str], scale: float) -> list[float]:
    views = int(scale * (0.5 + frac(acct.id, key)))
    avg = 60 + int(240 * frac(acct.id, "avd"))
    values = {
        "views": views,
        "estimatedMinutesWatched": views * avg // 60,
        "averageViewDuration": avg,
        "likes": views // 25,
        "subscribersGained": views // 400,
        "subscribersLost": views // 2500,
        "comments": views // 300,
        "shares": views // 500,
        "averageViewPercentage": 35.0,
    }
    return [values.get(m, 0) for m in metrics]


async def reports(request: Request) -> Response:
    token, err = await guard(request, {ANALYTICS}, 0)
    if err:
        return err
    assert token is not None
    q = request.query_params
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("youtube", token.account_id)
    try:
        start = dt.date.fromisoformat(q["startDate"])
        end = dt.date.fromisoformat(q["endDate"])
    except (KeyError, ValueError):
        return google_error(400, "Required: startDate and endDate as YYYY-MM-DD.", "required")
    if q.get("ids") not in {"channel==MINE", f"channel=={token.account_id}"}:
        return google_error(403, "Forbidden", "forbidden")
    metrics = [m for m in q.get("metrics", "").split(",") if m]
    dims = [d for d in q.get("dimensions", "").split(",") if d]
    if not metrics or any(m not in COLUMN_TYPES for m in metrics) or acct is None or end < start:
        return unsupported()
    headers = [{"name": d, "columnType": "DIMENSION", "dataType": "STRING"} for d in dims]
    headers += [{"name": m, "columnType": "METRIC", "dataType": COLUMN_TYPES[m]} for m in metrics]
    days = (end - start).days + 1
    scale = acct.followers / 40
    rows: list[list[object]] = []
    if not dims:
        rows = [list(metric_values(acct, f"total{start}{end}", metrics, scale * days))]
    elif dims == ["day"]:
        rows = [
            [
                (start + dt.timedelta(days=n)).isoformat(),
                *metric_values(acct, str(start + dt.timedelta(days=n)), metrics, scale),
            ]
            for n in range(days)
        ]
    elif sorted(dims) == ["ageGroup", "gender"] and metrics == ["viewerPercentage"]:
        for age, a_share in acct.audience.ages:
            for gender, g_share in acct.audience.genders:
                row: list[object] = (
                    [AGE_GROUPS[age], GENDERS[gender]] if dims[0] == "ageGroup" else [GENDERS[gender], AGE_GROUPS[age]]
                )
                rows.append([*row, round(100 * a_share * g_share, 1)])
    elif dims in (["country"], ["city"]):
        if dims == ["city"]:
            max_results = q.get("maxResults", "")
            if not q.get("sort") or not max_results.isdigit() or int(max_results) > 250:
                return unsupported()  # city reports need sort and maxResults <= 250
        pairs = acct.audience.countries if dims == ["country"] else acct.audience.cities
        rows = [[key, *metric_values(acct, key, metrics, scale * days * share * 3)] for key, share in pairs]
        if "maxResults" in q and q["maxResults"].isdigit():
            rows = rows[: int(q["maxResults"])]
    else:
        return unsupported()
    sort = q.get("sort", "")
    if sort.lstrip("-") in metrics:
        idx = len(dims) + metrics.index(sort.lstrip("-"))
        rows.sort(key=lambda r: float(r[idx]), reverse=sort.startswith("-"))  # type: ignore[arg-type]
    return json({"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows})


def routes() -> list[BaseRoute]:
    return [Mount("/youtubeanalytics.googleapis.com", routes=[Route("/v2/reports", reports)])]
