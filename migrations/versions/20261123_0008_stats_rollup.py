"""Stats: issue aggregates rolled up to every ancestor area, so a subtree read is one key.

``stats_issue_rollup`` holds the same counters as ``stats_issue_daily``, keyed by
(area, category, day) where the area is each **ancestor** of the issue's own area: the rows of an
area X hold everything strictly below X, and the figures of X's subtree over a window are the
rollup rows of X plus the daily rows of X itself — two index ranges of one area id, at most
categories × days rows each, however many grids lie below and however many issues there are —
instead of a join over every area of the subtree. (The issue's own area is left out of the
rollup: its daily rows already hold it, and leaves, the most numerous areas, need no copy.)

The issue trigger appends the rolled-up delta in the same statement as the daily one (one
multi-row INSERT of one row per ancestor and changed key, three per key for a grid's issue; the
delta is not regrouped per ancestor, so a move between two grids of one street writes a + and a
− row for the street, which compaction folds). Rows are only inserted, like every stats delta,
so concurrent writers never wait on each other, not even on the district's rows;
``stats_compact()`` folds them and ``stats_rebuild()`` recomputes them from the daily rows, which
it recomputes from the issues. Area paths never change (re-parenting is refused), so an issue's
ancestors are fixed by its area.

Revision ID: 0008_stats_rollup
Revises: 0007_stats
Create Date: 2026-11-23
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0008_stats_rollup"
down_revision: str | None = "0007_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = ["stats_issue_rollup"]
seeded_downgrade: list[str] = []

UUID = pg.UUID(as_uuid=True)
ISSUE_KEYS = ["area_id", "category", "day"]


def _revision_0007() -> ModuleType:
    """The previous revision's module: its counter lists and SQL builders (the functions this
    revision replaces are rebuilt from them on downgrade)."""
    path = Path(__file__).with_name("20261123_0007_stats.py")
    spec = importlib.util.spec_from_file_location("minqing_migration_0007_stats", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rollup_sql(source: str, counters: list[str]) -> str:
    """Rows of ``source`` (area_id, category, day, counters) summed per strict ancestor area."""
    sums = ", ".join(f"sum(d.{c})" for c in counters)
    nonzero = " OR ".join(f"sum(d.{c}) <> 0" for c in counters)
    return (
        f"SELECT up.id, d.category, d.day, {sums} "
        f"FROM {source} d JOIN areas own ON own.id = d.area_id "
        f"JOIN areas up ON up.path @> own.path AND up.id <> own.id "
        f"GROUP BY up.id, d.category, d.day HAVING {nonzero}"
    )


def _issue_apply_sql(counters: list[str]) -> str:
    """The issue trigger: contribution(NEW) − contribution(OLD) to the daily rows of the issue's
    area and to the rolled-up rows of its ancestors, and one change per area involved."""
    keys = ", ".join(ISSUE_KEYS)
    cols = ", ".join(counters)
    sums = ", ".join(f"sum({c} * sign) AS {c}" for c in counters)
    nonzero = " OR ".join(f"sum({c} * sign) <> 0" for c in counters)
    return f"""
    CREATE OR REPLACE FUNCTION stats_issue_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        tz text := stats_timezone();
    BEGIN
        WITH delta AS (
            SELECT {keys}, {sums}
            FROM (
                SELECT r.*, 1 AS sign FROM stats_issue_rows(NEW, tz) r WHERE TG_OP <> 'DELETE'
                UNION ALL
                SELECT r.*, -1 AS sign FROM stats_issue_rows(OLD, tz) r WHERE TG_OP <> 'INSERT'
            ) d
            GROUP BY {keys}
            HAVING {nonzero}
        ),
        daily AS (
            INSERT INTO stats_issue_daily ({keys}, {cols}) SELECT {keys}, {cols} FROM delta
        )
        INSERT INTO stats_issue_rollup ({keys}, {cols})
        SELECT up.id, d.category, d.day, {", ".join(f"d.{c}" for c in counters)}
        FROM delta d JOIN areas own ON own.id = d.area_id JOIN areas up ON up.path @> own.path AND up.id <> own.id;

        INSERT INTO stats_area_changes (area_id, changes)
        SELECT DISTINCT a, 1 FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.area_id END,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.area_id END
        ]) AS a WHERE a IS NOT NULL;
        RETURN NULL;
    END
    $$
    """


def _rebuild_sql(m7: ModuleType, *, rollup: bool) -> str:
    sql = m7.REBUILD.format(
        issue_sums=", ".join(f"sum(r.{c})" for c in m7.ISSUE_COUNTERS),
        diary_sums=", ".join(f"sum(r.{c})" for c in m7.DIARY_COUNTERS),
        dispute_sums=", ".join(f"sum(r.{c})" for c in m7.DISPUTE_COUNTERS),
    )
    sql = sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    if rollup:
        marker = "    -- Every cached stats response is stale now."
        assert marker in sql
        rows = _rollup_sql("stats_issue_daily", m7.ISSUE_COUNTERS)
        step = (
            f"    TRUNCATE stats_issue_rollup;\n    INSERT INTO stats_issue_rollup SELECT *, false FROM ({rows}) r;\n"
        )
        sql = sql.replace(marker, step + marker)
    return sql


def _compact_sql(m7: ModuleType, *, rollup: bool) -> str:
    tables = [
        ("stats_issue_daily", ISSUE_KEYS, m7.ISSUE_COUNTERS),
        *([("stats_issue_rollup", ISSUE_KEYS, m7.ISSUE_COUNTERS)] if rollup else []),
        ("stats_diary_daily", ["area_id", "day"], m7.DIARY_COUNTERS),
        ("stats_dispute_daily", ["area_id", "day"], m7.DISPUTE_COUNTERS),
        ("stats_area_changes", ["area_id"], ["changes"]),
    ]
    return (
        "CREATE OR REPLACE FUNCTION stats_compact() RETURNS bigint LANGUAGE plpgsql AS $$\n"
        "DECLARE total bigint := 0; moved_rows bigint;\n"
        "BEGIN\n"
        "    -- One compaction at a time; writers are never blocked (they only insert).\n"
        "    IF NOT pg_try_advisory_xact_lock(hashtext('stats_compact')) THEN RETURN 0; END IF;\n"
        + "".join(m7._compact_sql(table, keys, counters) for table, keys, counters in tables)
        + "    RETURN total;\nEND\n$$"
    )


def upgrade() -> None:
    m7 = _revision_0007()
    op.create_table(
        "stats_issue_rollup",
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        # int, not bigint like the daily rows: half the size, and a day's count fits
        *(sa.Column(c, sa.Integer(), server_default="0", nullable=False) for c in m7.ISSUE_COUNTERS),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_stats_issue_rollup_area_id_day", "stats_issue_rollup", ["area_id", "day"])
    op.execute("CREATE INDEX ix_stats_issue_rollup_fresh ON stats_issue_rollup (area_id, day, category) WHERE fresh")
    cols = ", ".join(m7.ISSUE_COUNTERS)
    op.execute(
        f"INSERT INTO stats_issue_rollup ({', '.join(ISSUE_KEYS)}, {cols}, fresh) "
        f"SELECT *, false FROM ({_rollup_sql('stats_issue_daily', m7.ISSUE_COUNTERS)}) s"
    )
    op.execute(_issue_apply_sql(m7.ISSUE_COUNTERS))
    op.execute(_rebuild_sql(m7, rollup=True))
    op.execute(_compact_sql(m7, rollup=True))


def downgrade() -> None:
    m7 = _revision_0007()
    op.execute(_compact_sql(m7, rollup=False))
    op.execute(_rebuild_sql(m7, rollup=False))
    apply = m7._apply_sql("stats_issue_apply", "stats_issue_rows", "stats_issue_daily", ISSUE_KEYS, m7.ISSUE_COUNTERS)
    op.execute(apply.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_table("stats_issue_rollup")
