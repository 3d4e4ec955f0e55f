"""Meta insights: Instagram media / account (incl. demographics) and Facebook Page insights."""

from __future__ import annotations

import time

from starlette.requests import Request

from ..state import Sandbox
from ..world import DAY, STORY_LIFETIME, Account, Item, frac
from .meta_common import GraphError

DEPRECATED = {
    "impressions",
    "plays",
    "video_views",
    "taps_forward",
    "taps_back",
    "exits",
    "engagement",
    "clips_replays_count",
    "ig_reels_aggregated_all_plays_count",
}
MEDIA_METRICS = {
    "FEED": {
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
        "profile_activity",
    },
    "REELS": {
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    },
    "STORY": {
        "views",
        "reach",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
        "navigation",
        "replies",
        "link_clicks",
        "profile_activity",
    },
}
ACCOUNT_METRICS = {
    "reach",
    "views",
    "follower_count",
    "profile_views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "website_clicks",
    "profile_links_taps",
}
DEMOGRAPHICS = {"follower_demographics", "engaged_audience_demographics"}
PAGE_METRICS = {
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_follows",
    "page_daily_follows_unique",
    "page_views_total",
    "page_video_views",
}


def _metrics(request: Request) -> list[str]:
    raw = request.query_params.get("metric", "")
    names = [m.strip() for m in raw.split(",") if m.strip()]
    if not names:
        raise GraphError(100, "(#100) The parameter metric is required")
    for name in names:
        if name == "impressions":
            raise GraphError(
                100,
                "(#100) Starting from version v22.0 and above, the impressions metric is no "
                "longer supported for Instagram media and accounts. Please use views instead.",
            )
        if name in DEPRECATED:
            raise GraphError(100, f"(#100) The metric {name} is deprecated and no longer supported")
    return names


def _entry(owner: str, name: str, period: str, value: object, **extra: object) -> dict[str, object]:
    title = name.replace("_", " ").capitalize()
    body: dict[str, object] = {"name": name, "period": period}
    if value is not None:
        body["values"] = [{"value": value}]
    body.update(extra)
    body.update(title=title, description=f"{title} (sandbox)", id=f"{owner}/insights/{name}/{period}")
    return body


def media(request: Request, sandbox: Sandbox, item: Item) -> dict:
    names = _metrics(request)
    story = item.kind == "STORY"
    product = "STORY" if story else "REELS" if item.kind == "VIDEO" else "FEED"
    for name in names:
        if name not in MEDIA_METRICS[product]:
            raise GraphError(
                100, f"(#100) The Media Insights API does not support the {name} metric for this media product type."
            )
    now = sandbox.now()
    if story and now - item.published_at >= STORY_LIFETIME:
        return {"data": []}  # story insights only exist while the story is live
    m = item.metrics(now)
    if story and m["reach"] < 5:
        raise GraphError(10, "(#10) Not enough viewers for the media to show insights")
    avg_ms = int(item.duration * 1000 * 0.45)
    nav = {
        "tap_forward": int(m["views"] * 0.55),
        "tap_back": int(m["views"] * 0.08),
        "tap_exit": int(m["views"] * 0.1),
        "swipe_forward": int(m["views"] * 0.05),
    }
    values = {
        "views": m["views"],
        "reach": m["reach"],
        "likes": m["likes"],
        "comments": m["comments"],
        "saved": m["saves"],
        "shares": m["shares"],
        "follows": m["follows"],
        "profile_visits": m["profile_visits"],
        "profile_activity": m["profile_visits"],
        "replies": m["replies"],
        "link_clicks": m["link_clicks"],
        "total_interactions": m["likes"] + m["comments"] + m["saves"] + m["shares"] + (m["replies"] if story else 0),
        "ig_reels_avg_watch_time": avg_ms,
        "ig_reels_video_view_total_time": avg_ms * m["views"],
        "navigation": sum(nav.values()),
    }
    breakdown = request.query_params.get("breakdown")
    out = []
    for name in names:
        if name == "navigation" and breakdown == "story_navigation_action_type":
            results = [{"dimension_values": [k], "value": v} for k, v in nav.items()]
            total = {
                "value": values[name],
                "breakdowns": [{"dimension_keys": ["story_navigation_action_type"], "results": results}],
            }
            out.append(_entry(item.id, name, "lifetime", values[name], total_value=total))
        else:
            out.append(_entry(item.id, name, "lifetime", values[name]))
    return {"data": out}


def album_child(request: Request) -> dict:
    """Album children have no insights (reference §1.6): deprecated names are still refused, the rest is empty."""
    _metrics(request)
    return {"data": []}


def _range(request: Request, now: float, max_days: int) -> tuple[float, float]:
    q = request.query_params
    until = float(q.get("until") or now)
    since = float(q.get("since") or until - 2 * DAY)
    if until - since > max_days * DAY + 3600:
        raise GraphError(
            100, f"(#100) There cannot be more than {max_days} days ({max_days * 86400} s) between since and until"
        )
    return since, until


def _daily(owner: str, name: str, since: float, until: float, scale: float) -> list[dict[str, object]]:
    rows = []
    day = (since // DAY + 1) * DAY
    while day <= until + 1:
        # Pacific midnight (08:00 UTC) is how Graph stamps daily values
        end = time.strftime("%Y-%m-%dT08:00:00+0000", time.gmtime(day))
        rows.append({"value": int(scale * (0.6 + 0.8 * frac(owner, name, int(day)))), "end_time": end})
        day += DAY
    return rows


def account(request: Request, sandbox: Sandbox, acct: Account) -> dict:
    names = _metrics(request)
    q = request.query_params
    now = sandbox.now()
    followers = acct.followers_at(now, sandbox.world.anchor)
    out: list[dict[str, object]] = []
    for name in names:
        if name in DEMOGRAPHICS:
            if q.get("period") != "lifetime" or q.get("metric_type") != "total_value":
                raise GraphError(100, f"(#100) {name} requires period=lifetime and metric_type=total_value")
            keys = [k for k in (q.get("breakdown") or "").split(",") if k]
            if not keys or any(k not in {"age", "city", "country", "gender"} for k in keys):
                raise GraphError(100, "(#100) breakdown must be one or more of age, city, country, gender")
            if q.get("timeframe") and q["timeframe"] not in {
                "this_month",
                "this_week",
                "last_14_days",
                "last_30_days",
                "last_90_days",
                "prev_month",
            }:
                raise GraphError(100, "(#100) Invalid timeframe")
            if followers < 100:
                continue  # demographics are withheld under 100 followers
            scale = followers * (0.35 if name == "engaged_audience_demographics" else 1.0)
            out.append(
                _entry(acct.id, name, "lifetime", None, total_value={"breakdowns": [demographics(acct, keys, scale)]})
            )
            continue
        if name not in ACCOUNT_METRICS:
            raise GraphError(
                100,
                f"(#100) metric[0] must be one of the following values: "
                f"{', '.join(sorted(ACCOUNT_METRICS | DEMOGRAPHICS))}",
            )
        if q.get("period", "day") not in {"day", "lifetime", "week", "days_28"}:
            raise GraphError(100, "(#100) Incompatible period for this metric")
        since, until = _range(request, now, 30)
        scale = followers * {"reach": 0.25, "views": 0.6, "follower_count": 0.002}.get(name, 0.01)
        daily = _daily(acct.id, name, since, until, scale)
        if q.get("metric_type") == "total_value":
            out.append(
                _entry(
                    acct.id,
                    name,
                    q.get("period", "day"),
                    None,
                    total_value={"value": sum(int(r["value"]) for r in daily)},  # type: ignore[call-overload]
                )
            )  # type: ignore[call-overload]
        else:
            entry = _entry(acct.id, name, q.get("period", "day"), None)
            entry["values"] = daily
            out.append(entry)
    return {"data": out}


def demographics(acct: Account, keys: list[str], scale: float) -> dict[str, object]:
    aud = acct.audience
    dims = {"age": aud.ages, "gender": aud.genders, "country": aud.countries, "city": aud.cities}
    combos: list[tuple[list[str], float]] = [([], 1.0)]
    for key in keys:
        combos = [([*vals, v], share * s) for vals, share in combos for v, s in dims[key]]
    results = [
        {"dimension_values": vals, "value": int(scale * share)} for vals, share in combos if int(scale * share) > 0
    ]
    results.sort(key=lambda r: -int(r["value"]))  # type: ignore[call-overload]
    return {"dimension_keys": keys, "results": results[:45]}  # Graph returns the top 45 only


def page(request: Request, sandbox: Sandbox, acct: Account) -> dict:
    names = _metrics(request)
    period = request.query_params.get("period", "day")
    if period not in {"day", "week", "days_28"}:
        raise GraphError(100, "(#100) The value must be one of day, week, days_28")
    since, until = _range(request, sandbox.now(), 90)
    followers = acct.followers_at(sandbox.now(), sandbox.world.anchor)
    out = []
    for name in names:
        if name not in PAGE_METRICS:
            raise GraphError(100, "(#100) The value must be a valid insights metric")
        scale = (
            followers
            * {"page_media_view": 0.3, "page_total_media_view_unique": 0.2, "page_follows": 1.0}.get(name, 0.01)
            * {"day": 1, "week": 7, "days_28": 28}[period]
        )
        entry = _entry(acct.id, name, period, None)
        entry["values"] = _daily(acct.id, name + period, since, until, scale)
        out.append(entry)
    return {"data": out}
