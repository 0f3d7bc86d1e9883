"""Stats (三率 and friends): daily aggregates kept by triggers, per-area change counters, live-event
notifications, and the rebuild function.

Every change to ``issues``, ``diary_entries`` and ``disputes`` appends ``contribution(NEW) −
contribution(OLD)`` to the daily aggregate tables in the writing transaction, and a change row
for each area involved (summed, the stats ETag). Rows are only ever inserted by writers — never
updated — so concurrent writers in one grid never wait on each other; readers sum rows per key,
and ``stats_compact()`` (run every minute) folds the fresh delta rows of a key into one row,
keeping every sum. ``stats_rebuild()`` recomputes everything from the raw tables with the same
contribution functions, so the two can never disagree.

Revision ID: 0007_stats
Revises: 0006_inbound
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0007_stats"
down_revision: str | None = "0006_inbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = ["stats_area_changes", "stats_diary_daily", "stats_dispute_daily", "stats_issue_daily"]
# Only the seed rows this revision inserts (defaults an upgrade restores).
seeded_downgrade = ["stats_settings"]

UUID = pg.UUID(as_uuid=True)

STATUSES = [
    "reported", "accepted", "rejected", "merged", "dispatched", "in_progress", "suspended", "resolved", "verified",
    "closed",
]  # fmt: skip
KINDS = ["consultation", "help", "complaint", "report", "suggestion", "praise"]
CHANNELS = ["patrol", "diary", "walk_in", "phone", "app", "hotline", "petition", "open311"]
TIERS = ["grid", "community", "street"]
OPEN = [
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "suspended",
    "resolved",
    "verified",
]  # not closed, merged, rejected

# Issue counters, each counted on its own day (see app/stats/service.py for the rules).
ISSUE_COUNTERS = [
    "created",
    *(f"status_{s}" for s in STATUSES),
    *(f"kind_{k}" for k in KINDS),
    *(f"channel_{c}" for c in CHANNELS),
    *(f"tier_{t}" for t in TIERS),
    "response_due",
    "responded_on_time",
    "evaluated",
    "solved",
    "satisfied",
    "resolved",
    "resolved_on_time",
    "closed",
    "closed_grid_level",
    "closed_community_level",
]
DIARY_COUNTERS = ["logged", "visits", "status_open", "status_answered", "status_resolved", "status_escalated"]
RISKS = ["green", "yellow", "orange", "red"]
DISPUTE_COUNTERS = [
    "registered",
    *(f"risk_{r}" for r in RISKS),
    "mediated",
    "agreements",
    "referred",
    "stable_at_follow_up",
]

EXCLUDED = "i.status NOT IN ('merged','rejected')"


def _quoted(values: list[str]) -> str:
    return ",".join(f"'{v}'" for v in values)


def _row(counters: list[str], day: str, values: dict[str, str], where: str, key: str) -> str:
    cols = ", ".join(f"({values[c]})::int" if c in values else "0" for c in counters)
    return f"SELECT {key}, ({day})::date, {cols} WHERE {where}"


def _issue_rows_sql() -> str:
    local = "(i.{} AT TIME ZONE tz)"
    created = {"created": "true"}
    created |= {f"status_{s}": f"i.status = '{s}'" for s in STATUSES}
    created |= {f"kind_{k}": f"i.kind = '{k}'" for k in KINDS}
    created |= {f"channel_{c}": f"i.channel = '{c}'" for c in CHANNELS}
    created |= {f"tier_{t}": f"i.tier = '{t}'" for t in TIERS}
    key = "i.area_id, i.category"
    parts = [
        _row(ISSUE_COUNTERS, local.format("created_at"), created, "true", key),
        _row(
            ISSUE_COUNTERS,
            local.format("respond_due_at"),
            {"response_due": "true", "responded_on_time": "i.first_responded_at <= i.respond_due_at"},
            f"{EXCLUDED} AND i.first_responded_at IS NOT NULL",
            key,
        ),
        _row(
            ISSUE_COUNTERS,
            local.format("evaluated_at"),
            {
                "evaluated": "true",
                "solved": "coalesce(i.solved, false)",
                "satisfied": "i.rating IN ('satisfied','basically_satisfied')",
            },
            f"{EXCLUDED} AND i.evaluated_at IS NOT NULL",
            key,
        ),
        _row(
            ISSUE_COUNTERS,
            local.format("resolved_at"),
            {"resolved": "true", "resolved_on_time": "i.resolved_at <= i.resolve_due_at"},
            f"{EXCLUDED} AND i.resolved_at IS NOT NULL",
            key,
        ),
        _row(
            ISSUE_COUNTERS,
            local.format("closed_at"),
            {
                "closed": "true",
                "closed_grid_level": "i.tier = 'grid'",
                "closed_community_level": "i.tier IN ('grid','community')",
            },
            f"{EXCLUDED} AND i.closed_at IS NOT NULL",
            key,
        ),
    ]
    cols = ", ".join(f"{c} int" for c in ISSUE_COUNTERS)
    return (
        f"CREATE FUNCTION stats_issue_rows(i issues, tz text) "
        f"RETURNS TABLE (area_id uuid, category varchar, day date, {cols}) "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$\n" + "\nUNION ALL\n".join(parts) + "\n$$"
    )


def _diary_rows_sql() -> str:
    values = {"logged": "true", "visits": "e.resident_id IS NOT NULL"}
    values |= {f"status_{s}": f"e.status = '{s}'" for s in ("open", "answered", "resolved", "escalated")}
    cols = ", ".join(f"{c} int" for c in DIARY_COUNTERS)
    body = _row(DIARY_COUNTERS, "(e.visited_at AT TIME ZONE tz)", values, "true", "e.area_id")
    return (
        f"CREATE FUNCTION stats_diary_rows(e diary_entries, tz text) RETURNS TABLE (area_id uuid, day date, {cols}) "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$\n{body}\n$$"
    )


def _dispute_rows_sql() -> str:
    values = {
        "registered": "true",
        "mediated": "d.outcome_at IS NOT NULL",
        "agreements": "d.agreement_text IS NOT NULL",
        "referred": "d.referred_to IS NOT NULL",
        "stable_at_follow_up": "d.status = 'stable'",
    }
    values |= {f"risk_{r}": f"d.risk_level = '{r}'" for r in RISKS}
    cols = ", ".join(f"{c} int" for c in DISPUTE_COUNTERS)
    body = _row(DISPUTE_COUNTERS, "(d.created_at AT TIME ZONE tz)", values, "true", "d.area_id")
    return (
        f"CREATE FUNCTION stats_dispute_rows(d disputes, tz text) RETURNS TABLE (area_id uuid, day date, {cols}) "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$\n{body}\n$$"
    )


def _apply_sql(name: str, source: str, table: str, keys: list[str], counters: list[str]) -> str:
    """The trigger function: append contribution(NEW) − contribution(OLD) and one change per area."""
    key_list = ", ".join(keys)
    sums = ", ".join(f"sum({c} * sign)" for c in counters)
    nonzero = " OR ".join(f"sum({c} * sign) <> 0" for c in counters)
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        tz text := stats_timezone();
    BEGIN
        INSERT INTO {table} ({key_list}, {", ".join(counters)})
        SELECT {key_list}, {sums}
        FROM (
            SELECT r.*, 1 AS sign FROM {source}(NEW, tz) r WHERE TG_OP <> 'DELETE'
            UNION ALL
            SELECT r.*, -1 AS sign FROM {source}(OLD, tz) r WHERE TG_OP <> 'INSERT'
        ) d
        GROUP BY {key_list}
        HAVING {nonzero};

        INSERT INTO stats_area_changes (area_id, changes)
        SELECT DISTINCT a, 1 FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.area_id END,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.area_id END
        ]) AS a WHERE a IS NOT NULL;
        RETURN NULL;
    END
    $$
    """


def _compact_sql(table: str, keys: list[str], counters: list[str]) -> str:
    key_list = ", ".join(keys)
    return f"""
        WITH dirty AS (SELECT DISTINCT {key_list} FROM {table} WHERE fresh),
        moved AS (
            DELETE FROM {table} t USING dirty
            WHERE {" AND ".join(f"t.{k} = dirty.{k}" for k in keys)}
            RETURNING t.*
        )
        INSERT INTO {table} ({key_list}, {", ".join(counters)}, fresh)
        SELECT {key_list}, {", ".join(f"sum({c})" for c in counters)}, false FROM moved
        GROUP BY {key_list}
        HAVING {" OR ".join(f"sum({c}) <> 0" for c in counters)};
        GET DIAGNOSTICS moved_rows = ROW_COUNT;
        total := total + moved_rows;
    """


def _triggers(table: str, function: str, watched: list[str]) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    return [
        f"CREATE TRIGGER {table}_stats_insert_delete AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_stats_update AFTER UPDATE ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}()",
    ]


ISSUE_WATCHED = [
    "area_id", "category", "kind", "channel", "status", "tier", "created_at", "respond_due_at", "first_responded_at",
    "evaluated_at", "solved", "rating", "resolved_at", "resolve_due_at", "closed_at",
    # "now" figures (open / due soon / overdue) change the stats ETag too
    "due_at", "due_soon_at", "suspended_since", "assignee_user_id", "resolved_by", "created_by",
]  # fmt: skip
DIARY_WATCHED = ["area_id", "visited_at", "status", "resident_id", "author_id"]
DISPUTE_WATCHED = ["area_id", "created_at", "risk_level", "status", "outcome_at", "agreement_text", "referred_to"]


def _counter_columns(counters: list[str]) -> list[sa.Column]:
    return [sa.Column(c, sa.BigInteger(), server_default="0", nullable=False) for c in counters]


REBUILD = """
CREATE FUNCTION stats_rebuild(new_timezone text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz text;
BEGIN
    -- Writers wait while the aggregates are rebuilt; readers go on.
    LOCK TABLE issues, diary_entries, disputes IN SHARE MODE;
    IF new_timezone IS NOT NULL THEN
        PERFORM now() AT TIME ZONE new_timezone;  -- rejects an unknown zone
        UPDATE stats_settings SET timezone = new_timezone;
    END IF;
    tz := stats_timezone();
    TRUNCATE stats_issue_daily, stats_diary_daily, stats_dispute_daily;
    INSERT INTO stats_issue_daily SELECT r.area_id, r.category, r.day, {issue_sums}, false
        FROM issues i CROSS JOIN LATERAL stats_issue_rows(i, tz) r GROUP BY 1, 2, 3;
    INSERT INTO stats_diary_daily SELECT r.area_id, r.day, {diary_sums}, false
        FROM diary_entries e CROSS JOIN LATERAL stats_diary_rows(e, tz) r GROUP BY 1, 2;
    INSERT INTO stats_dispute_daily SELECT r.area_id, r.day, {dispute_sums}, false
        FROM disputes d CROSS JOIN LATERAL stats_dispute_rows(d, tz) r GROUP BY 1, 2;
    -- Every cached stats response is stale now.
    INSERT INTO stats_area_changes (area_id, changes) SELECT id, 1 FROM areas;
END
$$
"""

NOTIFY = """
CREATE FUNCTION change_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A wake-up call only (identical payloads fold into one per transaction); listeners read the
    -- settled rows of change_log themselves, so nothing is lost when a notification is.
    PERFORM pg_notify('minqing_changes', '');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "stats_settings",
        sa.Column("id", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.CheckConstraint("id", name="ck_stats_settings_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_stats_settings"),
    )
    op.execute("INSERT INTO stats_settings (timezone) VALUES ('Asia/Shanghai')")
    op.execute(
        "CREATE FUNCTION stats_timezone() RETURNS text LANGUAGE sql STABLE AS $$ SELECT timezone FROM stats_settings $$"
    )
    op.create_table(
        "stats_issue_daily",
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counter_columns(ISSUE_COUNTERS),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_stats_issue_daily_area_id_day", "stats_issue_daily", ["area_id", "day"])
    op.execute("CREATE INDEX ix_stats_issue_daily_fresh ON stats_issue_daily (area_id, day, category) WHERE fresh")
    op.create_table(
        "stats_diary_daily",
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counter_columns(DIARY_COUNTERS),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_stats_diary_daily_area_id_day", "stats_diary_daily", ["area_id", "day"])
    op.execute("CREATE INDEX ix_stats_diary_daily_fresh ON stats_diary_daily (area_id, day) WHERE fresh")
    op.create_table(
        "stats_dispute_daily",
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counter_columns(DISPUTE_COUNTERS),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_stats_dispute_daily_area_id_day", "stats_dispute_daily", ["area_id", "day"])
    op.execute("CREATE INDEX ix_stats_dispute_daily_fresh ON stats_dispute_daily (area_id, day) WHERE fresh")
    op.create_table(
        "stats_area_changes",
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_stats_area_changes_area_id", "stats_area_changes", ["area_id"])
    op.execute("CREATE INDEX ix_stats_area_changes_fresh ON stats_area_changes (area_id) WHERE fresh")
    op.execute(_issue_rows_sql())
    op.execute(_diary_rows_sql())
    op.execute(_dispute_rows_sql())
    for name, table, keys, counters in (
        ("issue", "stats_issue_daily", ["area_id", "category", "day"], ISSUE_COUNTERS),
        ("diary", "stats_diary_daily", ["area_id", "day"], DIARY_COUNTERS),
        ("dispute", "stats_dispute_daily", ["area_id", "day"], DISPUTE_COUNTERS),
    ):
        op.execute(_apply_sql(f"stats_{name}_apply", f"stats_{name}_rows", table, keys, counters))
    for stmt in (
        _triggers("issues", "stats_issue_apply", ISSUE_WATCHED)
        + _triggers("diary_entries", "stats_diary_apply", DIARY_WATCHED)
        + _triggers("disputes", "stats_dispute_apply", DISPUTE_WATCHED)
    ):
        op.execute(stmt)
    op.execute(
        REBUILD.format(
            issue_sums=", ".join(f"sum(r.{c})" for c in ISSUE_COUNTERS),
            diary_sums=", ".join(f"sum(r.{c})" for c in DIARY_COUNTERS),
            dispute_sums=", ".join(f"sum(r.{c})" for c in DISPUTE_COUNTERS),
        )
    )
    op.execute(
        "CREATE FUNCTION stats_compact() RETURNS bigint LANGUAGE plpgsql AS $$\n"
        "DECLARE total bigint := 0; moved_rows bigint;\n"
        "BEGIN\n"
        "    -- One compaction at a time; writers are never blocked (they only insert).\n"
        "    IF NOT pg_try_advisory_xact_lock(hashtext('stats_compact')) THEN RETURN 0; END IF;\n"
        + _compact_sql("stats_issue_daily", ["area_id", "category", "day"], ISSUE_COUNTERS)
        + _compact_sql("stats_diary_daily", ["area_id", "day"], DIARY_COUNTERS)
        + _compact_sql("stats_dispute_daily", ["area_id", "day"], DISPUTE_COUNTERS)
        + _compact_sql("stats_area_changes", ["area_id"], ["changes"])
        + "    RETURN total;\nEND\n$$"
    )
    op.execute(NOTIFY)
    op.execute(
        "CREATE TRIGGER change_log_notify AFTER INSERT ON change_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION change_log_notify()"
    )

    # "Now" figures: open issues only, with what the SLA state needs (index-only scans).
    op.execute(
        f"CREATE INDEX ix_issues_open_area ON issues (area_id) "
        f"INCLUDE (due_at, due_soon_at, suspended_since, respond_due_at, first_responded_at, assignee_user_id) "
        f"WHERE status IN ({_quoted(OPEN)})"
    )
    # Percentiles over a window read raw durations through these.
    op.execute(
        "CREATE INDEX ix_issues_area_resolved_at ON issues (area_id, resolved_at) INCLUDE (created_at, status) "
        "WHERE resolved_at IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_issues_area_first_responded_at ON issues (area_id, first_responded_at) "
        "INCLUDE (created_at, status) WHERE first_responded_at IS NOT NULL"
    )
    # Grid-worker figures (网格员考核).
    op.create_index("ix_issues_created_by_created_at", "issues", ["created_by", "created_at"])
    op.execute(
        "CREATE INDEX ix_issues_resolved_by_resolved_at ON issues (resolved_by, resolved_at) "
        "WHERE resolved_by IS NOT NULL"
    )
    op.create_index("ix_diary_entries_author_id_visited_at", "diary_entries", ["author_id", "visited_at"])
    op.create_index("ix_change_log_area_id_seq", "change_log", ["area_id", "seq"])

    op.execute("SELECT stats_rebuild()")


def downgrade() -> None:
    op.drop_index("ix_change_log_area_id_seq", table_name="change_log")
    op.drop_index("ix_diary_entries_author_id_visited_at", table_name="diary_entries")
    op.drop_index("ix_issues_resolved_by_resolved_at", table_name="issues")
    op.drop_index("ix_issues_created_by_created_at", table_name="issues")
    op.drop_index("ix_issues_area_first_responded_at", table_name="issues")
    op.drop_index("ix_issues_area_resolved_at", table_name="issues")
    op.drop_index("ix_issues_open_area", table_name="issues")
    op.execute("DROP TRIGGER change_log_notify ON change_log")
    op.execute("DROP FUNCTION change_log_notify()")
    for table in ("issues", "diary_entries", "disputes"):
        op.execute(f"DROP TRIGGER {table}_stats_insert_delete ON {table}")
        op.execute(f"DROP TRIGGER {table}_stats_update ON {table}")
    op.execute("DROP FUNCTION stats_rebuild(text)")
    for name in ("issue", "diary", "dispute"):
        op.execute(f"DROP FUNCTION stats_{name}_apply()")
    op.execute("DROP FUNCTION stats_issue_rows(issues, text)")
    op.execute("DROP FUNCTION stats_diary_rows(diary_entries, text)")
    op.execute("DROP FUNCTION stats_dispute_rows(disputes, text)")
    op.execute("DROP FUNCTION stats_compact()")
    op.drop_table("stats_area_changes")
    op.drop_table("stats_dispute_daily")
    op.drop_table("stats_diary_daily")
    op.drop_table("stats_issue_daily")
    op.execute("DROP FUNCTION stats_timezone()")
    op.drop_table("stats_settings")
