"""report contents and roll-ups: what the report analytics read, kept exact by triggers

`report_contents` holds one row per content in each scope (the whole report, where a content two trackings
collected counts once as its first tracked row, and each tracking) with its effective metrics (the
workspace's override, else the API's, else a manual story's), creator, network, type and UTC day. Three
roll-ups add them up: per creator, network and type (all time), per day and network with the day's distinct
creators, and the per-day presence of each creator those counts follow.

Triggers, not service code: the sources are written by several domains (refresh jobs, overrides, stories,
the CRM) and by foreign-key cascades no service sees. After each statement that changes one, the contents it
touched are recomputed from scratch in that transaction (`report_contents_sync`): their rows' figures are
taken out of the roll-ups, the rows replaced, the new figures added back, so a roll-up never counts a
content twice. Syncs of one content take turns on an advisory lock (by hashed content id) so each one reads
what the one before it committed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYNC_LOCK = 0x10E_0C0A
METRICS = ("likes", "comments", "shares", "saves", "views", "reach")
COLUMNS = ("report_id, scope_id, source_id, tracked_id, tracking_id, content_id, story_id, network, type, "
           "published_at, day, matched_terms, creator, handle, " + ", ".join(METRICS) + ", engagements")  # fmt: skip
SUMS = ("contents", *METRICS, "engagements")


def _metric(name: str) -> str:
    return f"coalesce(o.metrics->>'{name}', a.metrics->>'{name}', s.metrics->>'{name}')::numeric::bigint AS {name}"


def _add(names: Sequence[str]) -> str:
    return ", ".join(f"{name} = x.{name} + excluded.{name}" for name in names)


def _summed(extra: str = "") -> str:
    metrics = ", ".join(f"sign * coalesce(sum({name}), 0)" for name in (*METRICS, "engagements"))
    return f"sign * count(*), {extra}{metrics}"


# Every tracked row of the contents with its figures (one per tracking), then the report's own row of each.
WANTED = f"""
WITH tracked AS (
    SELECT t.* FROM tracked_contents AS t WHERE t.content_id IN (SELECT unnest(sources))
    UNION ALL
    SELECT t.* FROM tracked_contents AS t WHERE t.story_id IN (SELECT unnest(sources))
), per_tracking AS (
    SELECT t.report_id, t.tracking_id AS scope_id, coalesce(t.content_id, t.story_id) AS source_id,
           t.id AS tracked_id, t.tracking_id, t.content_id, t.story_id, t.network, t.type, t.published_at,
           (t.published_at AT TIME ZONE 'UTC')::date AS day, t.matched_terms,
           coalesce(i.name, p.handle, 'unknown') AS creator, p.handle, {", ".join(_metric(m) for m in METRICS)}
    FROM tracked AS t
    JOIN reports AS r ON r.id = t.report_id
    LEFT JOIN account_contents AS a ON a.id = t.content_id
    LEFT JOIN content_overrides AS o ON o.content_id = t.content_id AND o.workspace_id = t.workspace_id
    LEFT JOIN stories AS s ON s.id = t.story_id
    LEFT JOIN tracking_profiles AS p ON p.id = t.profile_id
    LEFT JOIN influencers AS i ON i.id = p.influencer_id
), scoped AS (
    SELECT * FROM per_tracking
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (report_id, source_id) report_id, report_id, source_id, tracked_id, tracking_id,
               content_id, story_id, network, type, published_at, day, matched_terms, creator, handle,
               {", ".join(METRICS)}
        FROM per_tracking ORDER BY report_id, source_id, published_at DESC, tracked_id
    ) AS first_tracked
)
SELECT *, coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0) FROM scoped
"""

# Adds (sign 1) or takes out (sign -1) the figures of the contents' current rows. A creator joins a day's
# distinct creators when its presence there leaves 0, and leaves them when it falls back to 0; the upsert
# returns the presence after this change under its row lock, so concurrent syncs count it exactly.
ROLLUPS_ADD = f"""
CREATE FUNCTION report_rollups_add(sources uuid[], sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH facts AS MATERIALIZED (
        SELECT f.* FROM report_contents AS f JOIN reports AS r ON r.id = f.report_id
        WHERE f.source_id IN (SELECT unnest(sources))
    ), creators AS (
        INSERT INTO report_creator_rollups AS x (report_id, scope_id, network, type, creator, {", ".join(SUMS)})
        SELECT report_id, scope_id, network, type, creator, {_summed()}
        FROM facts GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (report_id, scope_id, network, type, creator) DO UPDATE SET {_add(SUMS)}
    ), by_network AS MATERIALIZED (
        SELECT f.*, v.network AS rolled_network FROM facts AS f, LATERAL (VALUES (f.network), ('')) AS v(network)
    ), presence AS MATERIALIZED (
        SELECT report_id, scope_id, day, rolled_network AS network, creator, sign * count(*) AS delta
        FROM by_network GROUP BY 1, 2, 3, 4, 5
    ), present AS (
        INSERT INTO report_day_creators AS x (report_id, scope_id, day, network, creator, contents)
        SELECT * FROM presence ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (report_id, scope_id, day, network, creator) DO UPDATE SET contents = x.contents + excluded.contents
        RETURNING x.report_id, x.scope_id, x.day, x.network, x.creator, x.contents
    ), moved AS (
        SELECT report_id, scope_id, day, network,
               sum(CASE WHEN p.contents > 0 AND p.contents = q.delta THEN 1
                        WHEN p.contents = 0 AND q.delta < 0 THEN -1 ELSE 0 END) AS creators
        FROM present AS p JOIN presence AS q USING (report_id, scope_id, day, network, creator)
        GROUP BY 1, 2, 3, 4
    ), days AS (
        SELECT report_id, scope_id, day, rolled_network AS network,
               {_summed("sign * count(*) FILTER (WHERE type = 'story'), ")}
        FROM by_network GROUP BY 1, 2, 3, 4
    )
    INSERT INTO report_day_rollups AS x (report_id, scope_id, day, network, contents, stories,
                                         {", ".join(SUMS[1:])}, creators)
    SELECT days.*, moved.creators FROM days JOIN moved USING (report_id, scope_id, day, network)
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (report_id, scope_id, day, network) DO UPDATE SET {_add((*SUMS, "stories", "creators"))};
END $$
"""

SYNC = f"""
CREATE FUNCTION report_contents_sync(sources uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    touched_reports uuid[];
    touched_scopes uuid[];
BEGIN
    IF coalesce(cardinality(sources), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock({SYNC_LOCK}, bucket)
    FROM (SELECT DISTINCT hashtext(id::text) & 1023 AS bucket FROM unnest(sources) AS id ORDER BY 1) AS buckets;
    SELECT array_agg(DISTINCT report_id), array_agg(DISTINCT scope_id) INTO touched_reports, touched_scopes
    FROM report_contents WHERE source_id IN (SELECT unnest(sources));
    PERFORM report_rollups_add(sources, -1);
    DELETE FROM report_contents WHERE source_id IN (SELECT unnest(sources));
    INSERT INTO report_contents ({COLUMNS}) {WANTED};
    PERFORM report_rollups_add(sources, 1);
    IF touched_reports IS NOT NULL THEN  -- what fell to 0 goes, and the presences of a scope left empty
        DELETE FROM report_creator_rollups
        WHERE report_id = ANY(touched_reports) AND scope_id = ANY(touched_scopes) AND contents = 0;
        DELETE FROM report_day_rollups WHERE report_id = ANY(touched_reports) AND scope_id = ANY(touched_scopes) AND contents = 0;
        WITH emptied AS MATERIALIZED (
            SELECT r.id AS report_id, s.id AS scope_id FROM unnest(touched_reports) AS r(id), unnest(touched_scopes) AS s(id)
            WHERE NOT EXISTS (SELECT 1 FROM report_contents AS f WHERE f.report_id = r.id AND f.scope_id = s.id)
        )
        DELETE FROM report_day_creators AS d USING emptied AS e
        WHERE d.report_id = e.report_id AND d.scope_id = e.scope_id;
    END IF;
END $$
"""

SOURCE = "coalesce(content_id, story_id)"
CHANGED = "FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id WHERE"
# table: (events, the contents a statement's rows touch for INSERT, UPDATE, DELETE)
FOLLOWED = {
    "tracked_contents": (
        f"SELECT {SOURCE} FROM new_rows",
        f"SELECT coalesce(n.content_id, n.story_id) {CHANGED} n IS DISTINCT FROM o "
        f"UNION SELECT coalesce(o.content_id, o.story_id) {CHANGED} n IS DISTINCT FROM o",
        f"SELECT {SOURCE} FROM old_rows",
    ),
    "account_contents": (
        None,
        f"SELECT n.id {CHANGED} n.metrics IS DISTINCT FROM o.metrics "
        "AND EXISTS (SELECT 1 FROM tracked_contents AS t WHERE t.content_id = n.id)",
        None,
    ),
    "content_overrides": (
        "SELECT content_id FROM new_rows",
        "SELECT content_id FROM new_rows UNION SELECT content_id FROM old_rows",
        "SELECT content_id FROM old_rows",
    ),
    "stories": (None, f"SELECT n.id {CHANGED} n.metrics IS DISTINCT FROM o.metrics", None),
    "tracking_profiles": (
        None,
        "SELECT coalesce(t.content_id, t.story_id) FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id "
        "JOIN tracked_contents AS t ON t.profile_id = n.id WHERE (n.handle, n.influencer_id) IS DISTINCT FROM (o.handle, o.influencer_id)",
        None,
    ),
    "influencers": (
        None,
        "SELECT coalesce(t.content_id, t.story_id) FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id "
        "JOIN tracking_profiles AS p ON p.influencer_id = n.id JOIN tracked_contents AS t ON t.profile_id = p.id "
        "WHERE n.name IS DISTINCT FROM o.name",
        None,
    ),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "DELETE": "OLD TABLE AS old_rows"}  # fmt: skip


def _follow(table: str, queries: tuple[str | None, ...]) -> list[str]:
    branches = "\n".join(
        f"    {'IF' if i == 0 else 'ELSIF'} TG_OP = '{event}' THEN\n"
        f"        PERFORM report_contents_sync(ARRAY(SELECT DISTINCT id FROM ({query}) AS touched(id)));"
        for i, (event, query) in enumerate((e, q) for e, q in zip(EVENTS, queries, strict=True) if q)
    )
    statements = [
        f"CREATE FUNCTION report_contents_follow_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"{branches}\n    END IF;\n    RETURN NULL;\nEND $$"
    ]
    for event, query in zip(EVENTS, queries, strict=True):
        if query:
            statements.append(
                f"CREATE TRIGGER report_contents_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION report_contents_follow_{table}()"
            )
    return statements


KEY_TYPES = {"network": sa.String(length=16), "type": sa.String(length=20), "creator": sa.String(length=200),
             "day": sa.Date()}  # fmt: skip


def _keys(*names: str) -> list[sa.Column]:
    columns = [sa.Column("report_id", sa.UUID(), nullable=False), sa.Column("scope_id", sa.UUID(), nullable=False)]
    return columns + [sa.Column(name, KEY_TYPES[name], nullable=False) for name in names]


def _sums() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS]


def _rollup(name: str, keys: Sequence[str], columns: Sequence[sa.Column]) -> None:
    op.create_table(
        name,
        *_keys(*keys),
        *columns,
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f(f"fk_{name}_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", "scope_id", *keys, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "report_contents",
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("scope_id", sa.UUID(), nullable=False),
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("tracked_id", sa.UUID(), nullable=False),
        sa.Column("tracking_id", sa.UUID(), nullable=False),
        sa.Column("content_id", sa.UUID(), nullable=True),
        sa.Column("story_id", sa.UUID(), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("matched_terms", postgresql.ARRAY(sa.String(length=300)), nullable=False),
        sa.Column("creator", sa.String(length=200), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in METRICS),
        sa.Column("engagements", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_contents_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", "scope_id", "source_id", name=op.f("pk_report_contents")),
    )
    op.create_index(
        "ix_report_contents_timeline", "report_contents", ["report_id", "scope_id", "published_at", "source_id"]
    )
    op.create_index("ix_report_contents_top", "report_contents", ["report_id", "scope_id", "engagements"])
    op.create_index(op.f("ix_report_contents_source_id"), "report_contents", ["source_id"])
    _rollup("report_creator_rollups", ("network", "type", "creator"), _sums())
    _rollup(
        "report_day_rollups",
        ("day", "network"),
        [
            *_sums(),
            sa.Column("stories", sa.BigInteger(), nullable=False),
            sa.Column("creators", sa.BigInteger(), nullable=False),
        ],
    )
    _rollup(
        "report_day_creators", ("day", "network", "creator"), [sa.Column("contents", sa.BigInteger(), nullable=False)]
    )
    op.create_index(op.f("ix_tracked_contents_profile_id"), "tracked_contents", ["profile_id"])
    for statement in (ROLLUPS_ADD, SYNC):
        op.execute(statement)
    for table, queries in FOLLOWED.items():
        for statement in _follow(table, queries):
            op.execute(statement)
    op.execute(
        "SELECT report_contents_sync(ARRAY(SELECT DISTINCT coalesce(content_id, story_id) FROM tracked_contents))"
    )


def downgrade() -> None:
    for table, queries in FOLLOWED.items():
        for event, query in zip(EVENTS, queries, strict=True):
            if query:
                op.execute(f"DROP TRIGGER report_contents_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION report_contents_follow_{table}()")
    op.execute("DROP FUNCTION report_contents_sync(uuid[])")
    op.execute("DROP FUNCTION report_rollups_add(uuid[], integer)")
    op.drop_index(op.f("ix_tracked_contents_profile_id"), table_name="tracked_contents")
    for name in ("report_day_creators", "report_day_rollups", "report_creator_rollups", "report_contents"):
        op.drop_table(name)
