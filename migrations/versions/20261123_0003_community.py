"""Community work: residents' archive, 民情日记, dispute mediation, audit log, change feed.

Revision ID: 0003_community
Revises: 0002_issues
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003_community"
down_revision: str | None = "0002_issues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = [
    "audit_log",
    "buildings",
    "change_log",
    "diary_entries",
    "dispute_follow_ups",
    "dispute_parties",
    "disputes",
    "households",
    "mediation_sessions",
    "residents",
]

UUID = pg.UUID(as_uuid=True)
TZ = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", UUID, nullable=False)


def _versioned() -> list[sa.Column]:
    return [
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def upgrade() -> None:
    # --- residents' archive -----------------------------------------------------------------
    op.create_table(
        "buildings",
        _id(),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(200), nullable=True),
        *_versioned(),
        _fk("buildings", "area_id", "areas"),
        sa.PrimaryKeyConstraint("id", name="pk_buildings"),
    )
    op.create_index("ix_buildings_area_id", "buildings", ["area_id"])

    op.create_table(
        "households",
        _id(),
        sa.Column("building_id", UUID, nullable=False),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        *_versioned(),
        _fk("households", "building_id", "buildings"),
        _fk("households", "area_id", "areas"),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
    )
    op.create_index("ix_households_building_id", "households", ["building_id"])
    op.create_index("ix_households_area_id", "households", ["area_id"])

    op.create_table(
        "residents",
        _id(),
        sa.Column("household_id", UUID, nullable=True),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("gender", sa.String(8), server_default="unknown", nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_index", sa.String(64), nullable=True),
        sa.Column("tags", pg.ARRAY(sa.String(32)), server_default="{}", nullable=False),
        sa.Column("last_visited_at", TZ, nullable=True),
        *_versioned(),
        sa.CheckConstraint("gender in ('male','female','unknown')", name="ck_residents_gender_known"),
        _fk("residents", "household_id", "households"),
        _fk("residents", "area_id", "areas"),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
    )
    op.create_index("ix_residents_household_id", "residents", ["household_id"])
    op.create_index("ix_residents_area_id", "residents", ["area_id"])
    op.create_index("ix_residents_phone_index", "residents", ["phone_index"])
    op.create_index("ix_residents_id_number_index", "residents", ["id_number_index"])

    # --- 民情日记 -----------------------------------------------------------------------------
    op.create_table(
        "diary_entries",
        _id(),
        sa.Column("author_id", UUID, nullable=False),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("household_id", UUID, nullable=True),
        sa.Column("resident_id", UUID, nullable=True),
        sa.Column("visited_at", TZ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("tags", pg.ARRAY(sa.String(32)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("issue_id", UUID, nullable=True),
        *_versioned(),
        sa.CheckConstraint("kind in ('situation','complaint','opinion')", name="ck_diary_entries_kind_known"),
        sa.CheckConstraint(
            "status in ('open','answered','resolved','escalated')", name="ck_diary_entries_status_known"
        ),
        _fk("diary_entries", "author_id", "users"),
        _fk("diary_entries", "area_id", "areas"),
        _fk("diary_entries", "household_id", "households"),
        _fk("diary_entries", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("id", name="pk_diary_entries"),
    )
    op.create_index("ix_diary_entries_author_id", "diary_entries", ["author_id"])
    op.create_index("ix_diary_entries_area_id", "diary_entries", ["area_id"])
    op.create_index("ix_diary_entries_resident_id", "diary_entries", ["resident_id"])
    op.create_index("ix_diary_entries_issue_id", "diary_entries", ["issue_id"])
    op.create_index("ix_diary_entries_created_at_id", "diary_entries", ["created_at", "id"])
    op.create_index("ix_diary_entries_updated_at", "diary_entries", ["updated_at"])
    op.execute("CREATE INDEX ix_diary_entries_content_trgm ON diary_entries USING gin (content gin_trgm_ops)")

    # --- 矛盾纠纷调解 -------------------------------------------------------------------------
    op.create_table(
        "disputes",
        _id(),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("risk_level", sa.String(8), nullable=False),
        sa.Column("risk_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), server_default="registered", nullable=False),
        sa.Column("registered_by", UUID, nullable=False),
        sa.Column("mediator_id", UUID, nullable=True),
        sa.Column("agreement_text", sa.Text(), nullable=True),
        sa.Column("referred_to", sa.String(16), nullable=True),
        sa.Column("outcome_at", TZ, nullable=True),
        sa.Column("issue_id", UUID, nullable=True),
        *_versioned(),
        sa.CheckConstraint(
            "type in ('neighbour','family','property','land','labour','other')", name="ck_disputes_type_known"
        ),
        sa.CheckConstraint("risk_level in ('green','yellow','orange','red')", name="ck_disputes_risk_level_known"),
        sa.CheckConstraint(
            "status in ('registered','mediating','agreement','failed','referred','stable')",
            name="ck_disputes_status_known",
        ),
        _fk("disputes", "area_id", "areas"),
        _fk("disputes", "registered_by", "users"),
        _fk("disputes", "mediator_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
    )
    op.create_index("ix_disputes_area_id", "disputes", ["area_id"])
    op.create_index("ix_disputes_mediator_id", "disputes", ["mediator_id"])
    op.create_index("ix_disputes_issue_id", "disputes", ["issue_id"])
    op.create_index("ix_disputes_created_at_id", "disputes", ["created_at", "id"])

    op.create_table(
        "dispute_parties",
        _id(),
        sa.Column("dispute_id", UUID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.CheckConstraint("role in ('applicant','respondent','other')", name="ck_dispute_parties_role_known"),
        _fk("dispute_parties", "dispute_id", "disputes", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_dispute_parties"),
    )
    op.create_index("ix_dispute_parties_dispute_id", "dispute_parties", ["dispute_id"])
    op.create_index("ix_dispute_parties_phone_index", "dispute_parties", ["phone_index"])

    op.create_table(
        "mediation_sessions",
        _id(),
        sa.Column("dispute_id", UUID, nullable=False),
        sa.Column("held_at", TZ, nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("mediator_id", UUID, nullable=False),
        sa.Column("attendees", pg.ARRAY(sa.String(100)), server_default="{}", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_at", TZ, server_default=sa.func.now(), nullable=False),
        _fk("mediation_sessions", "dispute_id", "disputes", "CASCADE"),
        _fk("mediation_sessions", "mediator_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_mediation_sessions"),
    )
    op.create_index("ix_mediation_sessions_dispute_id", "mediation_sessions", ["dispute_id"])

    op.create_table(
        "dispute_follow_ups",
        _id(),
        sa.Column("dispute_id", UUID, nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("stable", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("visited_by", UUID, nullable=False),
        sa.Column("recorded_at", TZ, server_default=sa.func.now(), nullable=False),
        _fk("dispute_follow_ups", "dispute_id", "disputes", "CASCADE"),
        _fk("dispute_follow_ups", "visited_by", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_dispute_follow_ups"),
    )
    op.create_index("ix_dispute_follow_ups_dispute_id", "dispute_follow_ups", ["dispute_id"])

    # --- audit log: append-only ---------------------------------------------------------------
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("actor_id", UUID, nullable=True),
        sa.Column("actor_username", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", UUID, nullable=False),
        sa.Column("area_id", UUID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )

    # --- change feed for offline sync -----------------------------------------------------------
    op.create_table(
        "change_log",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("txid", sa.Text(), nullable=False),  # becomes xid8 below
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", UUID, nullable=False),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("changed_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("op in ('upsert','delete')", name="ck_change_log_op_known"),
        sa.PrimaryKeyConstraint("seq", name="pk_change_log"),
    )
    op.execute(
        "ALTER TABLE change_log ALTER COLUMN txid TYPE xid8 USING txid::xid8, "
        "ALTER COLUMN txid SET DEFAULT pg_current_xact_id()"
    )
    op.create_index("ix_change_log_txid_seq", "change_log", ["txid", "seq"])
    op.create_index("ix_change_log_changed_at", "change_log", ["changed_at"])


def downgrade() -> None:
    op.drop_table("change_log")
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_no_update_delete ON audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("dispute_follow_ups")
    op.drop_table("mediation_sessions")
    op.drop_table("dispute_parties")
    op.drop_table("disputes")
    op.drop_table("diary_entries")
    op.drop_table("residents")
    op.drop_table("households")
    op.drop_table("buildings")
