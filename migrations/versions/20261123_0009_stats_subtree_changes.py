"""Stats ETags from one row: change counters rolled up to every ancestor area.

A dashboard polls with ``If-None-Match``; answering 304 must cost about as much as reading one
row. The ETag's fingerprint used to sum the change counters (and the area rows) over the whole
subtree — 3,000 areas for a district. Now every change counted in ``stats_area_changes`` is
also counted, in the same transaction, for each ancestor of its area (and the area itself) in
``stats_subtree_changes``; so are changes to the area rows (a new child, a rename, a new
boundary, a move: under the old and the new ancestors). The fingerprint of a subtree is then the
sum of its own area's rows.

Like the other stats tables, rows are only inserted (concurrent writers never wait on each
other) and ``stats_compact_subtree()`` folds the fresh ones per area, keeping the sums.

Revision ID: 0009_stats_subtree_changes
Revises: 0008_stats_rollup
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0009_stats_subtree_changes"
down_revision: str | None = "0008_stats_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = ["stats_subtree_changes"]
seeded_downgrade: list[str] = []

ROLL_UP_CHANGES = """
CREATE FUNCTION stats_subtree_changes_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Compaction re-inserts folded rows with fresh = false: they were counted already.
    INSERT INTO stats_subtree_changes (area_id, changes)
    SELECT ancestor.id, sum(added.changes)
    FROM added
    JOIN areas a ON a.id = added.area_id
    JOIN areas ancestor ON ancestor.path @> a.path
    WHERE added.fresh
    GROUP BY ancestor.id;
    RETURN NULL;
END
$$
"""

AREA_CHANGED = """
CREATE FUNCTION stats_subtree_area_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_subtree_changes (area_id, changes)
    SELECT DISTINCT ancestor.id, 1
    FROM areas ancestor
    WHERE (TG_OP <> 'DELETE' AND ancestor.path @> NEW.path)
       OR (TG_OP <> 'INSERT' AND ancestor.path @> OLD.path);
    RETURN NULL;
END
$$
"""

COMPACT = """
CREATE FUNCTION stats_compact_subtree() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved_rows bigint;
BEGIN
    WITH dirty AS (SELECT DISTINCT area_id FROM stats_subtree_changes WHERE fresh),
    moved AS (
        DELETE FROM stats_subtree_changes t USING dirty WHERE t.area_id = dirty.area_id RETURNING t.*
    )
    INSERT INTO stats_subtree_changes (area_id, changes, fresh)
    SELECT area_id, sum(changes), false FROM moved GROUP BY area_id;
    GET DIAGNOSTICS moved_rows = ROW_COUNT;
    RETURN moved_rows;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "stats_subtree_changes",
        sa.Column("area_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("fresh", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index(
        "ix_stats_subtree_changes_area_id", "stats_subtree_changes", ["area_id"], postgresql_include=["changes"]
    )
    op.execute(ROLL_UP_CHANGES)
    op.execute(
        "CREATE TRIGGER stats_area_changes_roll_up AFTER INSERT ON stats_area_changes "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stats_subtree_changes_roll_up()"
    )
    op.execute(AREA_CHANGED)
    op.execute(
        "CREATE TRIGGER areas_stats_subtree_insert_delete AFTER INSERT OR DELETE ON areas "
        "FOR EACH ROW EXECUTE FUNCTION stats_subtree_area_changed()"
    )
    op.execute(
        "CREATE TRIGGER areas_stats_subtree_update AFTER UPDATE ON areas FOR EACH ROW "
        "WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.path IS DISTINCT FROM NEW.path) "
        "EXECUTE FUNCTION stats_subtree_area_changed()"
    )
    op.execute(COMPACT)
    # What the subtree sums were: every change so far, under every ancestor of its area.
    op.execute(
        "INSERT INTO stats_subtree_changes (area_id, changes, fresh) "
        "SELECT ancestor.id, sum(c.changes), false FROM stats_area_changes c "
        "JOIN areas a ON a.id = c.area_id JOIN areas ancestor ON ancestor.path @> a.path GROUP BY ancestor.id"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION stats_compact_subtree()")
    op.execute("DROP TRIGGER areas_stats_subtree_update ON areas")
    op.execute("DROP TRIGGER areas_stats_subtree_insert_delete ON areas")
    op.execute("DROP FUNCTION stats_subtree_area_changed()")
    op.execute("DROP TRIGGER stats_area_changes_roll_up ON stats_area_changes")
    op.execute("DROP FUNCTION stats_subtree_changes_roll_up()")
    op.drop_table("stats_subtree_changes")
