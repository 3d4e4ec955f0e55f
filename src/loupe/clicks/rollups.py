"""Click roll-ups: the stats' figures summed ahead, kept exact by the statement that stores the clicks.

The pattern (conversions and later domains follow it):

1. **Same statement as the raw rows.** The flush inserts clicks with `INSERT … ON CONFLICT DO NOTHING
   RETURNING …` and, in the same SQL statement, adds what that insert *returned* to `click_rollups`
   (`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`). A redelivered batch inserts nothing, so it
   adds nothing; a flush killed before its commit leaves neither the clicks nor their sums. The roll-ups can
   never be ahead of or behind the raw rows.
2. **Grains: UTC hour and UTC day.** Every click adds to its hour row; day rows are folded from the hour
   rows once a UTC day is over (`fold_day`, the worker's `fold_click_rollups`), and `click_rollup_folds`
   says where they end: a click of a day already folded (a late one) adds to its day row too. A range of
   whole hours reads its folded UTC days from the day rows and every other hour from the hour rows, so any
   time zone whose offset is a whole number of hours gets exact days; the day rows keep a 90-day read small,
   and the flush upserts half the rows it would if it kept day rows as clicks land.
3. **One row per breakdown key**, not per combination: `dimension` is `total`, `country`, `device` or
   `referrer`, as the stats show them. Keys grow with what the stats show, not with their product.
   **And per scope**: every click adds to its link's rows, its campaign's and its workspace's (`scope`,
   `scope_id`), so a campaign's or a workspace's answer reads as few rows as one link's.
4. **Summable figures only.** `unique_clicks` counts clicks flagged `unique_visitor` (the visitor's first
   on that link that UTC day, decided at flush time): a sum like the others, so any range adds up exactly.
5. **Sorted upserts** (`ORDER BY` the key), so concurrent flushes lock shared rows in one order: no deadlock.
6. **Rebuilds** (`rebuild_link`) recount one link and one range of UTC days at a time from the raw rows,
   then (`rebuild_scopes`) a workspace's campaign and workspace rows a day at a time from its link rows,
   under an exclusive advisory lock that every flush takes shared: a flush waits for the chunk being
   recounted (milliseconds), never for a table lock, and is never counted twice or lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

# Taken shared by every transaction that adds to a roll-up, exclusive by a rebuild chunk.
ROLLUP_LOCK = 0x10E_0CC5  # any bigint, the same in every process
HOLD_SHARED = f"SELECT pg_advisory_xact_lock_shared({ROLLUP_LOCK})"
HOLD_EXCLUSIVE = f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})"

# The scopes a row of `source` adds to: its link, the link's campaign (when it has one) and its workspace.
# `l` is the link's row (campaigns are fixed at a link's creation, so a stored sum never moves).
SCOPES = """
LEFT JOIN LATERAL (SELECT campaign_id FROM tracking_links WHERE id = {alias}.link_id) AS l ON true
CROSS JOIN LATERAL (VALUES ('link', {alias}.link_id), ('campaign', l.campaign_id),
                           ('workspace', {alias}.workspace_id)) AS s (scope, scope_id)
"""
LINK_SCOPE = "CROSS JOIN LATERAL (VALUES ('link', {alias}.link_id)) AS s (scope, scope_id)"

# UTC hours and days without a time zone lookup (`date_trunc(…, 'UTC')` costs one per call).
_EPOCH = "timestamptz '2000-01-01 00:00:00+00'"
# Where the day rows end (one row; read once per statement). A day row is added to only before it.
FOLDED_UNTIL = "SELECT folded_until FROM click_rollup_folds"
_KEPT = f"(g.grain = 'hour' OR g.bucket < ({FOLDED_UNTIL}))"
# Facts of the clicks in `source` (a CTE or subquery with the columns of `clicks`): one row per roll-up key,
# in primary-key order.
_FACTS = f"""
SELECT s.scope_id, c.workspace_id, s.scope, d.dimension, g.grain, g.bucket, d.key,
       count(*) FILTER (WHERE NOT c.bot),
       count(*) FILTER (WHERE NOT c.bot AND c.unique_visitor),
       count(*) FILTER (WHERE c.bot)
FROM {{source}} AS c
{{scopes}}
CROSS JOIN LATERAL (VALUES ('total', 'total'), ('country', coalesce(c.country, 'unknown')), ('device', c.device),
                           ('referrer', coalesce(c.referrer_host, 'direct'))) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('hour', date_bin('1 hour', c.clicked_at, {_EPOCH})),
                           ('day', date_bin('1 day', c.clicked_at, {_EPOCH}))) AS g (grain, bucket)
WHERE s.scope_id IS NOT NULL AND {_KEPT}
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 4, 5, 6, 7
"""

COLUMNS = "scope_id, workspace_id, scope, dimension, grain, bucket, key"
_ADD = f"""
INSERT INTO click_rollups AS r ({COLUMNS}, clicks, unique_clicks, bot_clicks)
{{facts}}
ON CONFLICT (scope_id, workspace_id, dimension, grain, bucket, key) DO UPDATE
SET clicks = r.clicks + excluded.clicks,
    unique_clicks = r.unique_clicks + excluded.unique_clicks,
    bot_clicks = r.bot_clicks + excluded.bot_clicks
"""

CLICK_COLUMNS = (
    "id uuid, clicked_at timestamptz, workspace_id uuid, link_id uuid, country text, device text, os text, "
    "browser text, referrer_host text, bot bool, bot_reason text, visitor_hash text, unique_visitor bool"
)
_UNNEST = """
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::bool[])
"""
_INSERT = f"""
INSERT INTO clicks (id, clicked_at, workspace_id, link_id, country, device, os, browser,
                    referrer_host, bot, bot_reason, visitor_hash, unique_visitor)
{_UNNEST}
ON CONFLICT DO NOTHING
"""

# The facts of a batch's stored clicks summed per link, hour and key first (a few keys per link), then those
# sums spread over their scopes and grains: a tenth of the rows `_FACTS` would expand a batch into.
_BATCH_FACTS = f"""
SELECT s.scope_id, p.workspace_id, s.scope, p.dimension, g.grain, g.bucket, p.key,
       sum(p.clicks), sum(p.unique_clicks), sum(p.bot_clicks)
FROM (SELECT c.link_id, c.workspace_id, date_bin('1 hour', c.clicked_at, {_EPOCH}) AS hour, d.dimension, d.key,
             count(*) FILTER (WHERE NOT c.bot) AS clicks,
             count(*) FILTER (WHERE NOT c.bot AND c.unique_visitor) AS unique_clicks,
             count(*) FILTER (WHERE c.bot) AS bot_clicks
      FROM stored AS c
      CROSS JOIN LATERAL (VALUES ('total', 'total'), ('country', coalesce(c.country, 'unknown')),
                                 ('device', c.device), ('referrer', coalesce(c.referrer_host, 'direct')))
                         AS d (dimension, key)
      GROUP BY 1, 2, 3, 4, 5) AS p
LEFT JOIN tracking_links AS l ON l.id = p.link_id
CROSS JOIN LATERAL (VALUES ('link', p.link_id), ('campaign', l.campaign_id), ('workspace', p.workspace_id))
                   AS s (scope, scope_id)
CROSS JOIN LATERAL (VALUES ('hour', p.hour), ('day', date_bin('1 day', p.hour, {_EPOCH}))) AS g (grain, bucket)
WHERE s.scope_id IS NOT NULL AND {_KEPT}
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 4, 5, 6, 7
"""
# Clicks and their roll-ups in one statement; answers how many clicks were new.
INSERT_CLICKS_AND_ROLLUPS = f"""
WITH stored AS ({_INSERT} RETURNING link_id, workspace_id, clicked_at, country, device, referrer_host, bot,
                                    unique_visitor),
     added AS ({_ADD.format(facts=_BATCH_FACTS)})
SELECT count(*) FROM stored
"""
# The same insert without roll-ups: only the benchmark's baseline runs it.
INSERT_CLICKS_ONLY = _INSERT

# Every key of a scope's rows in [$2, $3): each (dimension, grain) is one range of the primary key.
IN_RANGE = """
dimension IN ('total', 'country', 'device', 'referrer') AND grain IN ('hour', 'day') AND bucket >= $2 AND bucket < $3
"""
_RECOUNT_SOURCE = "(SELECT * FROM clicks WHERE link_id = $1 AND clicked_at >= $2 AND clicked_at < $3)"
DELETE_RANGE = f"DELETE FROM click_rollups WHERE scope_id = ANY($1::uuid[]) AND {IN_RANGE}"
RECOUNT_RANGE = _ADD.format(facts=_FACTS.format(source=_RECOUNT_SOURCE, scopes=LINK_SCOPE.format(alias="c")))
# The campaign and workspace rows of links $1 in [$2, $3), summed from those links' rows.
SUM_SCOPES = _ADD.format(
    facts=f"""
SELECT s.scope_id, r.workspace_id, s.scope, r.dimension, r.grain, r.bucket, r.key,
       sum(r.clicks), sum(r.unique_clicks), sum(r.bot_clicks)
FROM click_rollups AS r
LEFT JOIN LATERAL (SELECT campaign_id FROM tracking_links WHERE id = r.scope_id) AS l ON true
CROSS JOIN LATERAL (VALUES ('campaign', l.campaign_id), ('workspace', r.workspace_id)) AS s (scope, scope_id)
WHERE r.scope_id = ANY($1::uuid[]) AND {IN_RANGE} AND s.scope_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 4, 5, 6, 7
"""
)
RANGE = """
SELECT least(c.first, r.first), greatest(c.last, r.last)
FROM (SELECT min(clicked_at) AS first, max(clicked_at) AS last FROM clicks WHERE link_id = $1) AS c,
     (SELECT min(bucket) AS first, max(bucket) AS last FROM click_rollups WHERE scope_id = $1) AS r
"""
SCOPES_RANGE = "SELECT min(bucket), max(bucket) FROM click_rollups WHERE scope_id = ANY($1::uuid[])"


# A day's day rows from its hour rows (both statements under `HOLD_EXCLUSIVE`, so no flush adds meanwhile);
# the bucket range finds the day's rows through the BRIN index on `bucket`.
_DAY = "bucket >= $1 AND bucket < $1 + interval '1 day'"
DELETE_DAY = f"DELETE FROM click_rollups WHERE grain = 'day' AND {_DAY}"
FOLD_DAY = _ADD.format(
    facts=f"""
SELECT scope_id, workspace_id, scope, dimension, 'day', $1::timestamptz, key,
       sum(clicks), sum(unique_clicks), sum(bot_clicks)
FROM click_rollups WHERE grain = 'hour' AND {_DAY}
GROUP BY 1, 2, 3, 4, 7
ORDER BY 1, 2, 4, 7
"""
)
ADVANCE = "UPDATE click_rollup_folds SET folded_until = $1::timestamptz + interval '1 day' WHERE folded_until = $1"


async def fold_day(conn: Any, now: datetime) -> datetime | None:
    """Fold the first day not folded yet, if it is over at `now`, inside the caller's transaction (which
    holds nothing else): its day rows summed from its hour rows, then `folded_until` moved past it. Returns
    the day folded. Idempotent: a day another worker folded meanwhile is not folded again."""
    await conn.execute(HOLD_EXCLUSIVE)
    day = await conn.fetchval(FOLDED_UNTIL)
    if day is None or day + timedelta(days=1) > now:
        return None
    await conn.execute(DELETE_DAY, day)  # none, unless a worker of an older version still added day rows
    await conn.execute(FOLD_DAY, day)
    await conn.execute(ADVANCE, day)
    return day  # type: ignore[no-any-return]


async def insert_clicks(conn: Any, columns: list[list[Any]], *, rollups: bool = True) -> int:
    """Insert clicks (13 parallel column arrays, in `CLICK_COLUMNS` order) inside the caller's transaction;
    the number inserted (a click already stored is skipped, and added to no roll-up)."""
    if not rollups:
        status = await conn.execute(INSERT_CLICKS_ONLY, *columns)
        return int(status.rsplit(" ", 1)[-1])
    await conn.execute(HOLD_SHARED)
    return int(await conn.fetchval(INSERT_CLICKS_AND_ROLLUPS, *columns))


async def rebuild_link(conn: Any, link_id: uuid.UUID, start: datetime, end: datetime) -> None:
    """Recount one link's click roll-ups over [start, end) (whole UTC days) from its clicks, inside the
    caller's transaction, which holds `HOLD_EXCLUSIVE`: flushes wait for this chunk only."""
    await conn.execute(DELETE_RANGE, [link_id], start, end)
    await conn.execute(RECOUNT_RANGE, link_id, start, end)


async def rebuild_scopes(
    conn: Any, scope_ids: list[uuid.UUID], link_ids: list[uuid.UUID], start: datetime, end: datetime
) -> None:
    """Recount the campaign and workspace rows `scope_ids` over [start, end) from the rows of their links
    (already exact), under `HOLD_EXCLUSIVE` like `rebuild_link`."""
    await conn.execute(DELETE_RANGE, scope_ids, start, end)
    await conn.execute(SUM_SCOPES, link_ids, start, end)
