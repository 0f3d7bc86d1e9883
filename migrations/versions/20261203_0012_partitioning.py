"""History that stays cheap: the append-mostly tables become range-partitioned by time, keeping
their rows.

``change_log`` and ``outbox`` are partitioned by day, ``audit_log``, ``hotline_messages``,
``webhook_attempts`` and ``issue_events`` by month, on their time column; bounds are UTC
instants (a day runs 00:00–24:00 UTC, i.e. 08:00–08:00 in Asia/Shanghai). Nothing is copied: the
old table is renamed ``<table>_p0`` and attached as the first partition, from MINVALUE to the
period boundary after its newest row (or the start of the current period, whichever is later).
A validated CHECK constraint with the same bounds is added before the ATTACH, so the ATTACH does
not scan the table again, and dropped after it. Partitions for the current and the next period
follow, and a DEFAULT partition (``<table>_default``) catches a row no partition covers yet (a
clock far ahead, maintenance that lagged): no insert ever fails for want of a partition.
``partition_create()`` moves such rows out of the default when their partition is made.

A partitioned table's primary key must include the partition key: the primary keys become
``(id, <time column>)`` (``(seq, changed_at)`` for the change feed). Unique constraints without
the time column cannot stay: ``issue_events (issue_id, seq)`` (the issue row lock numbers the
timeline, see app/issues/timeline.py), ``hotline_messages (api_key_id, webhook_id)`` (the
repository serialises a message id with an advisory lock and looks it up) and ``outbox
(event_id)`` (a UUIDv7 made per message) become plain indexes, or go. No foreign key points at
these tables; their own foreign keys move to the partitioned parent.

Triggers: row triggers on the parent (the audit log's UPDATE/DELETE refusal) are cloned onto every
partition by PostgreSQL. Statement triggers (the audit log's TRUNCATE refusal, the NOTIFY wake-ups)
fire only on the table a statement names, so ``partition_create()`` — the one way partitions are
made, here and by ``minqing maintain`` — installs the parent's statement triggers on each partition
too (``TRUNCATE audit_log_p202612`` is refused like ``TRUNCATE audit_log``).

The downgrade copies the rows back into plain tables with the old keys and constraints (it fails,
and rolls back, if two issue events or two hotline messages now share what used to be unique).

Revision ID: 0012_partitioning
Revises: 0011_volunteers
Create Date: 2026-12-03
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op

revision: str = "0012_partitioning"
down_revision: str | None = "0011_volunteers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows are kept both ways (the upgrade attaches the tables, the downgrade copies them back).
destructive: list[str] = []
destructive_downgrade: list[str] = []


@dataclass(frozen=True)
class Table:
    name: str
    key: str  # the partition key: a timestamptz column
    period: str  # 'day' | 'month'
    identity: str  # the identity column (first column of the primary key)
    # Unique constraints of the plain table (name → columns), gone from the partitioned one …
    uniques: dict[str, str] = field(default_factory=dict)
    # … and the plain indexes that replace them (name → columns).
    replacements: dict[str, str] = field(default_factory=dict)
    foreign_keys: dict[str, str] = field(default_factory=dict)  # name → definition
    indexes: dict[str, str] = field(default_factory=dict)  # name → "(cols) [WHERE …]" of both shapes
    triggers: dict[str, str] = field(default_factory=dict)  # name → "<timing> … EXECUTE FUNCTION f()"


TABLES = (
    Table(
        "change_log",
        key="changed_at",
        period="day",
        identity="seq",
        indexes={
            "ix_change_log_txid_seq": "(txid, seq)",
            "ix_change_log_changed_at": "(changed_at)",
            "ix_change_log_area_id_seq": "(area_id, seq)",
        },
        triggers={"change_log_notify": "AFTER INSERT ON {t} FOR EACH STATEMENT EXECUTE FUNCTION change_log_notify()"},
    ),
    Table(
        "outbox",
        key="created_at",
        period="day",
        identity="id",
        uniques={"uq_outbox_event_id": "(event_id)"},
        indexes={
            "ix_outbox_available_at": "(available_at, id) WHERE processed_at IS NULL",
            "ix_outbox_unprocessed_aggregate": "(aggregate_id, id) WHERE processed_at IS NULL",
        },
        triggers={"outbox_notify": "AFTER INSERT ON {t} FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"},
    ),
    Table(
        "audit_log",
        key="at",
        period="month",
        identity="",
        indexes={
            "ix_audit_log_at_id": "(at, id)",
            "ix_audit_log_object": "(object_type, object_id)",
            "ix_audit_log_actor_id": "(actor_id)",
        },
        triggers={
            "audit_log_no_update_delete": "BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW "
            "EXECUTE FUNCTION audit_log_append_only()",
            "audit_log_no_truncate": "BEFORE TRUNCATE ON {t} FOR EACH STATEMENT "
            "EXECUTE FUNCTION audit_log_append_only()",
        },
    ),
    Table(
        "hotline_messages",
        key="received_at",
        period="month",
        identity="id",
        uniques={"uq_hotline_messages_api_key_id_webhook_id": "(api_key_id, webhook_id)"},
        replacements={"ix_hotline_messages_api_key_id_webhook_id": "(api_key_id, webhook_id)"},
        foreign_keys={
            "fk_hotline_messages_api_key_id_api_keys": "FOREIGN KEY (api_key_id) REFERENCES api_keys(id) "
            "ON DELETE CASCADE",
            "fk_hotline_messages_issue_id_issues": "FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE SET NULL",
        },
        indexes={"ix_hotline_messages_received_at": "(received_at)"},
    ),
    Table(
        "webhook_attempts",
        key="started_at",
        period="month",
        identity="id",
        foreign_keys={
            "fk_webhook_attempts_delivery_id_webhook_deliveries": "FOREIGN KEY (delivery_id) "
            "REFERENCES webhook_deliveries(id) ON DELETE CASCADE",
        },
        indexes={"ix_webhook_attempts_delivery_id": "(delivery_id, id)"},
    ),
    Table(
        "issue_events",
        key="created_at",
        period="month",
        identity="id",
        uniques={"uq_issue_events_issue_id": "(issue_id, seq)"},
        replacements={"ix_issue_events_issue_id_seq": "(issue_id, seq)"},
        foreign_keys={
            "fk_issue_events_issue_id_issues": "FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE",
        },
    ),
)

COPY_TRIGGERS = """
CREATE FUNCTION partition_copy_triggers(parent regclass, part regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    -- Statement triggers fire on the table a statement names only: each partition gets its own.
    FOR t IN
        SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger
        WHERE tgrelid = parent AND NOT tgisinternal AND (tgtype & 1) = 0
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = part AND tgname = t.tgname) THEN
            EXECUTE regexp_replace(t.def, ' ON \\S+ ', ' ON ' || part::text || ' ');
        END IF;
    END LOOP;
END
$$
"""

CREATE = """
CREATE FUNCTION partition_create(parent regclass, part text, lo timestamptz, hi timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    key text;
    fallback regclass;
    stranded boolean := false;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT a.attname, nullif(p.partdefid, 0)::regclass INTO key, fallback
    FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = parent;
    IF key IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', parent;
    END IF;
    IF fallback IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)', fallback, key, key)
            INTO stranded USING lo, hi;
    END IF;
    IF stranded THEN
        -- Rows of this range landed in the default partition (maintenance lagged): move them.
        -- The default's triggers (an append-only log's refusal of DELETE) are off for the move only.
        EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
        EXECUTE format('INSERT INTO %I SELECT * FROM %s WHERE %I >= $1 AND %I < $2', part, fallback, key, key)
            USING lo, hi;
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', fallback);
        EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2', fallback, key, key) USING lo, hi;
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', fallback);
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)', part, parent, lo, hi);
    END IF;
    PERFORM partition_copy_triggers(parent, part::regclass);
    RETURN true;
END
$$
"""


def _start(at: dt.datetime, period: str) -> dt.datetime:
    at = at.astimezone(dt.UTC)
    if period == "day":
        return dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)
    return dt.datetime(at.year, at.month, 1, tzinfo=dt.UTC)


def _next(start: dt.datetime, period: str) -> dt.datetime:
    if period == "day":
        return start + dt.timedelta(days=1)
    return dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=dt.UTC)


def _name(table: str, start: dt.datetime, period: str) -> str:
    return f"{table}_p{start:%Y%m%d}" if period == "day" else f"{table}_p{start:%Y%m}"


def _partition(t: Table) -> None:
    conn = op.get_bind()
    old = f"{t.name}_p0"
    conn.execute(sa.text(f"ALTER TABLE {t.name} RENAME TO {old}"))
    # The old table's names are the parent's now: its indexes and constraints take the partition's name.
    for (index,) in conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": old}):
        if index in t.uniques or index == f"pk_{t.name}":
            continue
        conn.execute(sa.text(f"ALTER INDEX {index} RENAME TO {old}_{index.removeprefix('ix_' + t.name + '_')}"))
    for name in t.triggers:
        conn.execute(sa.text(f"DROP TRIGGER {name} ON {old}"))
    for name in t.uniques:
        conn.execute(sa.text(f"ALTER TABLE {old} DROP CONSTRAINT {name}"))
    conn.execute(sa.text(f"ALTER TABLE {old} DROP CONSTRAINT pk_{t.name}"))
    start = 1
    if t.identity:
        start = conn.execute(
            sa.text(
                f"SELECT greatest((SELECT max({t.identity}) FROM {old}), "
                f"(SELECT last_value FROM {t.name}_{t.identity}_seq WHERE is_called), 0) + 1"
            )
        ).scalar_one()
        conn.execute(sa.text(f"ALTER TABLE {old} ALTER COLUMN {t.identity} DROP IDENTITY"))

    conn.execute(
        sa.text(
            f"CREATE TABLE {t.name} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
            f"INCLUDING COMPRESSION) PARTITION BY RANGE ({t.key})"
        )
    )
    pk = f"{t.identity or 'id'}, {t.key}"
    conn.execute(sa.text(f"ALTER TABLE {t.name} ADD CONSTRAINT pk_{t.name} PRIMARY KEY ({pk})"))
    if t.identity:
        identity = f"ADD GENERATED BY DEFAULT AS IDENTITY (START {start})"
        conn.execute(sa.text(f"ALTER TABLE {t.name} ALTER COLUMN {t.identity} {identity}"))
    for name, definition in t.foreign_keys.items():
        conn.execute(sa.text(f"ALTER TABLE {t.name} ADD CONSTRAINT {name} {definition}"))
    for name, columns in {**t.indexes, **t.replacements}.items():
        conn.execute(sa.text(f"CREATE INDEX {name} ON {t.name} {columns}"))
    for name, definition in t.triggers.items():
        conn.execute(sa.text(f"CREATE TRIGGER {name} {definition.format(t=t.name)}"))

    # The old table covers everything up to the period boundary after its newest row.
    now = conn.execute(sa.text("SELECT now()")).scalar_one()
    newest = conn.execute(sa.text(f"SELECT max({t.key}) FROM {old}")).scalar_one()
    current = _start(now, t.period)
    bound = max(_next(_start(newest, t.period), t.period), current) if newest is not None else current
    conn.execute(sa.text(f"ALTER TABLE {old} ADD CONSTRAINT {old}_bound CHECK ({t.key} < '{bound}') NOT VALID"))
    conn.execute(sa.text(f"ALTER TABLE {old} VALIDATE CONSTRAINT {old}_bound"))
    conn.execute(sa.text(f"ALTER TABLE {t.name} ATTACH PARTITION {old} FOR VALUES FROM (MINVALUE) TO ('{bound}')"))
    conn.execute(sa.text(f"ALTER TABLE {old} DROP CONSTRAINT {old}_bound"))
    conn.execute(sa.text(f"SELECT partition_copy_triggers('{t.name}', '{old}')"))

    conn.execute(sa.text(f"CREATE TABLE {t.name}_default PARTITION OF {t.name} DEFAULT"))
    conn.execute(sa.text(f"SELECT partition_copy_triggers('{t.name}', '{t.name}_default')"))
    lo = max(current, bound)
    for _ in range(2):  # the current and the next period
        hi = _next(lo, t.period)
        if lo >= current:
            conn.execute(
                sa.text("SELECT partition_create(CAST(:parent AS regclass), :part, :lo, :hi)"),
                {"parent": t.name, "part": _name(t.name, lo, t.period), "lo": lo, "hi": hi},
            )
        lo = hi


def _unpartition(t: Table) -> None:
    conn = op.get_bind()
    parted = f"{t.name}_partitioned"
    conn.execute(sa.text(f"ALTER TABLE {t.name} RENAME TO {parted}"))
    start = 1
    if t.identity:
        start = conn.execute(
            sa.text(
                f"SELECT greatest((SELECT max({t.identity}) FROM {parted}), "
                f"(SELECT last_value FROM {t.name}_{t.identity}_seq WHERE is_called), 0) + 1"
            )
        ).scalar_one()
    conn.execute(
        sa.text(
            f"CREATE TABLE {t.name} (LIKE {parted} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
            "INCLUDING COMPRESSION)"
        )
    )
    conn.execute(sa.text(f"INSERT INTO {t.name} SELECT * FROM {parted}"))
    conn.execute(sa.text(f"DROP TABLE {parted} CASCADE"))  # with its partitions and identity sequence
    if t.identity:
        identity = f"ADD GENERATED BY DEFAULT AS IDENTITY (START {start})"
        conn.execute(sa.text(f"ALTER TABLE {t.name} ALTER COLUMN {t.identity} {identity}"))
    conn.execute(sa.text(f"ALTER TABLE {t.name} ADD CONSTRAINT pk_{t.name} PRIMARY KEY ({t.identity or 'id'})"))
    for name, columns in t.uniques.items():
        conn.execute(sa.text(f"ALTER TABLE {t.name} ADD CONSTRAINT {name} UNIQUE {columns}"))
    for name, definition in t.foreign_keys.items():
        conn.execute(sa.text(f"ALTER TABLE {t.name} ADD CONSTRAINT {name} {definition}"))
    for name, columns in t.indexes.items():
        conn.execute(sa.text(f"CREATE INDEX {name} ON {t.name} {columns}"))
    for name, definition in t.triggers.items():
        conn.execute(sa.text(f"CREATE TRIGGER {name} {definition.format(t=t.name)}"))


def upgrade() -> None:
    op.execute(COPY_TRIGGERS)
    op.execute(CREATE)
    for table in TABLES:
        _partition(table)


def downgrade() -> None:
    for table in TABLES:
        _unpartition(table)
    op.execute("DROP FUNCTION partition_create(regclass, text, timestamptz, timestamptz)")
    op.execute("DROP FUNCTION partition_copy_triggers(regclass, regclass)")
