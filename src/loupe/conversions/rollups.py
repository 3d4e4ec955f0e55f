"""Conversion roll-ups, kept like the click roll-ups (clicks/rollups.py: same grains, dimensions and lock).

A conversion adds to its hour and day of receipt (`created_at`), per currency (`''` without one), in the
transaction that inserts it. Its country, device and referrer are its click's; a conversion whose click
is not stored counts in `total` only, as a raw join on the click would count it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

_FACTS = """
SELECT v.workspace_id, v.link_id, d.dimension, g.grain, g.bucket, d.key, coalesce(v.currency, ''),
       count(*), sum(v.value)
FROM {source} AS v
LEFT JOIN clicks AS c ON c.id = v.click_id AND c.clicked_at = v.clicked_at
CROSS JOIN LATERAL (VALUES ('total', 'total'),
                           ('country', CASE WHEN c.id IS NOT NULL THEN coalesce(c.country, 'unknown') END),
                           ('device', c.device),
                           ('referrer', CASE WHEN c.id IS NOT NULL THEN coalesce(c.referrer_host, 'direct') END)
                   ) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('hour', date_trunc('hour', v.created_at, 'UTC')),
                           ('day', date_trunc('day', v.created_at, 'UTC'))) AS g (grain, bucket)
WHERE d.key IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7
"""

# Revenue stays NULL while every value summed into it is (a conversion without a value adds no revenue).
_ADD = """
INSERT INTO conversion_rollups AS r (workspace_id, link_id, dimension, grain, bucket, key, currency, conversions,
                                     revenue)
{facts}
ON CONFLICT (link_id, workspace_id, dimension, grain, bucket, key, currency) DO UPDATE
SET conversions = r.conversions + excluded.conversions,
    revenue = CASE WHEN r.revenue IS NULL AND excluded.revenue IS NULL THEN NULL
                   ELSE coalesce(r.revenue, 0) + coalesce(excluded.revenue, 0) END
"""

ADD_CONVERSION = _ADD.format(facts=_FACTS.format(source="(SELECT * FROM conversions WHERE id = :id)"))

_RECOUNT_SOURCE = "(SELECT * FROM conversions WHERE link_id = $1 AND created_at >= $2 AND created_at < $3)"
DELETE_RANGE = "DELETE FROM conversion_rollups WHERE link_id = $1 AND bucket >= $2 AND bucket < $3"
RECOUNT_RANGE = _ADD.format(facts=_FACTS.format(source=_RECOUNT_SOURCE))
RANGE = """
SELECT least(v.first, r.first), greatest(v.last, r.last)
FROM (SELECT min(created_at) AS first, max(created_at) AS last FROM conversions WHERE link_id = $1) AS v,
     (SELECT min(bucket) AS first, max(bucket) AS last FROM conversion_rollups WHERE link_id = $1) AS r
"""


async def rebuild_link(conn: Any, link_id: uuid.UUID, start: datetime, end: datetime) -> None:
    """Recount one link's conversion roll-ups over [start, end) (whole UTC days), inside the caller's
    transaction, which holds the roll-ups' exclusive lock (clicks/rollups.py `rebuild_link`)."""
    await conn.execute(DELETE_RANGE, link_id, start, end)
    await conn.execute(RECOUNT_RANGE, link_id, start, end)
