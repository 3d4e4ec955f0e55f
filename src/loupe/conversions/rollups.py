"""Conversion roll-ups, kept like the click roll-ups (clicks/rollups.py: same grains, dimensions and lock).

A conversion adds to its hour and day of receipt (`created_at`), per currency (`''` without one), in the
transaction that inserts it. Its country, device and referrer are its click's; a conversion whose click
is not stored counts in `total` only, as a raw join on the click would count it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from loupe.clicks.rollups import COLUMNS, IN_RANGE, LINK_SCOPE, SCOPES

_FACTS = """
SELECT s.scope_id, v.workspace_id, s.scope, d.dimension, g.grain, g.bucket, d.key, coalesce(v.currency, ''),
       count(*), sum(v.value)
FROM {source} AS v
{scopes}
LEFT JOIN clicks AS c ON c.id = v.click_id AND c.clicked_at = v.clicked_at
CROSS JOIN LATERAL (VALUES ('total', 'total'),
                           ('country', CASE WHEN c.id IS NOT NULL THEN coalesce(c.country, 'unknown') END),
                           ('device', c.device),
                           ('referrer', CASE WHEN c.id IS NOT NULL THEN coalesce(c.referrer_host, 'direct') END)
                   ) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('hour', date_trunc('hour', v.created_at, 'UTC')),
                           ('day', date_trunc('day', v.created_at, 'UTC'))) AS g (grain, bucket)
WHERE d.key IS NOT NULL AND s.scope_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 4, 5, 6, 7, 8
"""

# Revenue stays NULL while every value summed into it is (a conversion without a value adds no revenue).
_ADD = f"""
INSERT INTO conversion_rollups AS r ({COLUMNS}, currency, conversions, revenue)
{{facts}}
ON CONFLICT (scope_id, workspace_id, dimension, grain, bucket, key, currency) DO UPDATE
SET conversions = r.conversions + excluded.conversions,
    revenue = CASE WHEN r.revenue IS NULL AND excluded.revenue IS NULL THEN NULL
                   ELSE coalesce(r.revenue, 0) + coalesce(excluded.revenue, 0) END
"""

ADD_CONVERSION = _ADD.format(
    facts=_FACTS.format(source="(SELECT * FROM conversions WHERE id = :id)", scopes=SCOPES.format(alias="v"))
)

_RECOUNT_SOURCE = "(SELECT * FROM conversions WHERE link_id = $1 AND created_at >= $2 AND created_at < $3)"
DELETE_RANGE = f"DELETE FROM conversion_rollups WHERE scope_id = ANY($1::uuid[]) AND {IN_RANGE}"
RECOUNT_RANGE = _ADD.format(facts=_FACTS.format(source=_RECOUNT_SOURCE, scopes=LINK_SCOPE.format(alias="v")))
# Revenue summed by `sum`, which stays NULL over NULLs only, as the upsert keeps it.
SUM_SCOPES = _ADD.format(
    facts=f"""
SELECT s.scope_id, r.workspace_id, s.scope, r.dimension, r.grain, r.bucket, r.key, r.currency,
       sum(r.conversions), sum(r.revenue)
FROM conversion_rollups AS r
LEFT JOIN LATERAL (SELECT campaign_id FROM tracking_links WHERE id = r.scope_id) AS l ON true
CROSS JOIN LATERAL (VALUES ('campaign', l.campaign_id), ('workspace', r.workspace_id)) AS s (scope, scope_id)
WHERE r.scope_id = ANY($1::uuid[]) AND {IN_RANGE} AND s.scope_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 4, 5, 6, 7, 8
"""
)
RANGE = """
SELECT least(v.first, r.first), greatest(v.last, r.last)
FROM (SELECT min(created_at) AS first, max(created_at) AS last FROM conversions WHERE link_id = $1) AS v,
     (SELECT min(bucket) AS first, max(bucket) AS last FROM conversion_rollups WHERE scope_id = $1) AS r
"""
SCOPES_RANGE = "SELECT min(bucket), max(bucket) FROM conversion_rollups WHERE scope_id = ANY($1::uuid[])"


async def rebuild_link(conn: Any, link_id: uuid.UUID, start: datetime, end: datetime) -> None:
    """Recount one link's conversion roll-ups over [start, end) (whole UTC days), inside the caller's
    transaction, which holds the roll-ups' exclusive lock (clicks/rollups.py `rebuild_link`)."""
    await conn.execute(DELETE_RANGE, [link_id], start, end)
    await conn.execute(RECOUNT_RANGE, link_id, start, end)


async def rebuild_scopes(
    conn: Any, scope_ids: list[uuid.UUID], link_ids: list[uuid.UUID], start: datetime, end: datetime
) -> None:
    """Recount the campaign and workspace rows `scope_ids` over [start, end) from their links' rows
    (clicks/rollups.py `rebuild_scopes`)."""
    await conn.execute(DELETE_RANGE, scope_ids, start, end)
    await conn.execute(SUM_SCOPES, link_ids, start, end)
