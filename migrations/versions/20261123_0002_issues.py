"""Issues: the closed loop (诉求闭环), categories, SLA policies, idempotency keys, outbox.

Revision ID: 0002_issues
Revises: 0001_foundation
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0002_issues"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = [
    "areas.number_prefix",
    "feedback_tokens",
    "idempotency_keys",
    "issue_attachments",
    "issue_comments",
    "issue_events",
    "issue_number_counters",
    "issue_reporters",
    "issues",
    "outbox",
]
# Only the seed rows this revision inserts (defaults an upgrade restores).
seeded_downgrade = ["issue_categories", "sla_policies"]

# (code, name, parent, sort order): the default tree of docs/domain.md.
CATEGORIES = [
    ("property", "物业", None, 10),
    ("dispute", "矛盾纠纷", None, 20),
    ("environment", "环境卫生", None, 30),
    ("facility", "设施", None, 40),
    ("lighting", "照明", "facility", 41),
    ("sewage", "排污", "facility", 42),
    ("ev_charging", "充电桩", "facility", 43),
    ("safety_hazard", "安全隐患", None, 50),
    ("public_order", "治安", None, 60),
    ("welfare", "帮扶", None, 70),
    ("subsistence_allowance", "低保", "welfare", 71),
    ("social_security", "社保", "welfare", 72),
    ("employment", "就业", "welfare", 73),
    ("elderly_care", "养老", None, 80),
    ("other", "其他", None, 90),
]

# (category, priority, kind, respond amount, unit, resolve amount, unit): the 12345 defaults
# (app.issues.sla.DEFAULT_POLICIES). The seeded rows carry fixed ids so downgrade finds them.
POLICIES = [
    ("01900000-0000-7000-8000-000000000001", None, None, None, 24, "hours", 168, "hours"),
    ("01900000-0000-7000-8000-000000000002", None, "urgent", None, 2, "hours", 24, "hours"),
    ("01900000-0000-7000-8000-000000000003", None, None, "consultation", 24, "hours", 3, "working_days"),
    ("01900000-0000-7000-8000-000000000004", None, None, "help", 24, "hours", 3, "working_days"),
]


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, pg.UUID(as_uuid=True), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("areas", sa.Column("number_prefix", sa.String(16), nullable=True))

    categories = op.create_table(
        "issue_categories",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_code", sa.String(32), nullable=True),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["issue_categories.code"],
            name="fk_issue_categories_parent_code_issue_categories",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("code", name="pk_issue_categories"),
    )
    op.create_index("ix_issue_categories_parent_code", "issue_categories", ["parent_code"])
    op.bulk_insert(
        categories,
        [{"code": c, "name": n, "parent_code": p, "sort_order": o, "is_active": True} for c, n, p, o in CATEGORIES],
    )

    policies = op.create_table(
        "sla_policies",
        _uuid("id"),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("priority", sa.String(16), nullable=True),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("respond_amount", sa.Float(), nullable=False),
        sa.Column("respond_unit", sa.String(16), nullable=False),
        sa.Column("resolve_amount", sa.Float(), nullable=False),
        sa.Column("resolve_unit", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("respond_unit in ('hours','working_days')", name="ck_sla_policies_respond_unit_known"),
        sa.CheckConstraint("resolve_unit in ('hours','working_days')", name="ck_sla_policies_resolve_unit_known"),
        sa.CheckConstraint("respond_amount > 0 AND resolve_amount > 0", name="ck_sla_policies_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_sla_policies"),
    )
    op.execute(
        "ALTER TABLE sla_policies ADD CONSTRAINT uq_sla_policies_category "
        "UNIQUE NULLS NOT DISTINCT (category, priority, kind)"
    )
    op.bulk_insert(
        policies,
        [
            {
                "id": pid,
                "category": c,
                "priority": p,
                "kind": k,
                "respond_amount": ra,
                "respond_unit": ru,
                "resolve_amount": sa_,
                "resolve_unit": su,
            }
            for pid, c, p, k, ra, ru, sa_, su in POLICIES
        ],
    )

    op.create_table(
        "issues",
        _uuid("id"),
        sa.Column("number", sa.String(48), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        _uuid("area_id"),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("reporter_name", sa.String(100), nullable=True),
        sa.Column("reporter_phone", sa.String(32), nullable=True),
        _ts("occurred_at"),
        sa.Column("external_ref", sa.String(100), nullable=True),
        _uuid("created_by", True),
        _uuid("assignee_user_id", True),
        _uuid("assignee_unit_id", True),
        _uuid("dispatched_by", True),
        _uuid("resolved_by", True),
        _uuid("merged_into_id", True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=True),
        _ts("evaluated_at"),
        sa.Column("supervised_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("escalated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("respond_amount", sa.Float(), nullable=False),
        sa.Column("respond_unit", sa.String(16), nullable=False),
        sa.Column("resolve_amount", sa.Float(), nullable=False),
        sa.Column("resolve_unit", sa.String(16), nullable=False),
        _ts("resolve_started_at", False),
        _ts("respond_due_at", False),
        _ts("resolve_due_at", False),
        _ts("due_at"),
        _ts("due_soon_at"),
        _ts("first_responded_at"),
        _ts("dispatched_at"),
        _ts("resolved_at"),
        _ts("closed_at"),
        _ts("suspended_since"),
        sa.Column("paused_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("paused_business_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("extension_business_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("pending_extension", pg.JSONB(), nullable=True),
        sa.Column("last_event_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _ts("created_at", False),
        _ts("updated_at", False),
        sa.CheckConstraint(
            "status in ('reported','accepted','rejected','merged','dispatched','in_progress','suspended',"
            "'resolved','verified','closed')",
            name="ck_issues_status_known",
        ),
        sa.CheckConstraint("tier in ('grid','community','street')", name="ck_issues_tier_known"),
        sa.CheckConstraint("priority in ('urgent','high','normal','low')", name="ck_issues_priority_known"),
        sa.ForeignKeyConstraint(
            ["category"], ["issue_categories.code"], name="fk_issues_category_issue_categories", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_issues_area_id_areas", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_issues_created_by_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"], ["users.id"], name="fk_issues_assignee_user_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_unit_id"], ["units.id"], name="fk_issues_assignee_unit_id_units", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["dispatched_by"], ["users.id"], name="fk_issues_dispatched_by_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name="fk_issues_resolved_by_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["issues.id"], name="fk_issues_merged_into_id_issues", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issues"),
        sa.UniqueConstraint("number", name="uq_issues_number"),
    )
    op.create_index("ix_issues_area_id_created_at", "issues", ["area_id", "created_at", "id"])
    op.create_index("ix_issues_created_at_id", "issues", ["created_at", "id"])
    op.create_index("ix_issues_updated_at_id", "issues", ["updated_at", "id"])
    op.create_index("ix_issues_status", "issues", ["status"])
    op.create_index("ix_issues_assignee_unit_id", "issues", ["assignee_unit_id"])
    op.create_index("ix_issues_assignee_user_id", "issues", ["assignee_user_id"])
    op.create_index("ix_issues_due_at", "issues", ["due_at"], postgresql_where=sa.text("due_at IS NOT NULL"))
    op.create_index(
        "ix_issues_due_soon_at", "issues", ["due_soon_at"], postgresql_where=sa.text("due_soon_at IS NOT NULL")
    )
    op.create_index("ix_issues_external_ref", "issues", ["external_ref"])
    # Trigram index for duplicate detection and `q` search on Chinese text.
    op.execute("CREATE INDEX ix_issues_text_trgm ON issues USING gin ((title || ' ' || description) gin_trgm_ops)")

    op.create_table(
        "issue_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _uuid("issue_id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        _uuid("actor_id", True),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_name", sa.String(100), nullable=True),
        sa.Column("payload", pg.JSONB(), server_default="{}", nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_issue_events_issue_id_issues", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issue_events"),
        sa.UniqueConstraint("issue_id", "seq", name="uq_issue_events_issue_id"),
    )

    op.create_table(
        "issue_reporters",
        _uuid("id"),
        _uuid("issue_id"),
        _uuid("source_issue_id", True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_issue_reporters_issue_id_issues", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_issue_id"], ["issues.id"], name="fk_issue_reporters_source_issue_id_issues", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issue_reporters"),
    )
    op.create_index("ix_issue_reporters_issue_id", "issue_reporters", ["issue_id"])

    op.create_table(
        "issue_comments",
        _uuid("id"),
        _uuid("issue_id"),
        _uuid("author_id", True),
        sa.Column("author_role", sa.String(32), nullable=False),
        sa.Column("author_name", sa.String(100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_issue_comments_issue_id_issues", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issue_comments"),
    )
    op.create_index("ix_issue_comments_issue_id_created_at", "issue_comments", ["issue_id", "created_at", "id"])

    op.create_table(
        "issue_attachments",
        _uuid("id"),
        _uuid("issue_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _uuid("uploaded_by", True),
        _ts("created_at", False),
        sa.CheckConstraint("kind in ('before','after','other')", name="ck_issue_attachments_kind_known"),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_issue_attachments_issue_id_issues", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issue_attachments"),
    )
    op.create_index("ix_issue_attachments_issue_id", "issue_attachments", ["issue_id"])

    op.create_table(
        "feedback_tokens",
        _uuid("id"),
        _uuid("issue_id"),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("used_at"),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_feedback_tokens_issue_id_issues", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_feedback_tokens_token_hash"),
    )
    op.create_index("ix_feedback_tokens_issue_id", "feedback_tokens", ["issue_id"])

    op.create_table(
        "issue_number_counters",
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "day", name="pk_issue_number_counters"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", pg.JSONB(), nullable=True),
        _ts("created_at", False),
        _ts("completed_at"),
        sa.PrimaryKeyConstraint("owner", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _uuid("event_id"),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        _uuid("aggregate_id"),
        sa.Column("payload", pg.JSONB(), nullable=False),
        _ts("created_at", False),
        _ts("available_at", False),
        _ts("processed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index(
        "ix_outbox_available_at", "outbox", ["available_at", "id"], postgresql_where=sa.text("processed_at IS NULL")
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_table("issue_number_counters")
    op.drop_table("feedback_tokens")
    op.drop_table("issue_attachments")
    op.drop_table("issue_comments")
    op.drop_table("issue_reporters")
    op.drop_table("issue_events")
    op.drop_table("issues")
    op.execute("DELETE FROM sla_policies WHERE id IN (" + ",".join(f"'{p[0]}'" for p in POLICIES) + ")")
    op.drop_table("sla_policies")
    op.execute("DELETE FROM issue_categories WHERE code IN (" + ",".join(f"'{c[0]}'" for c in CATEGORIES) + ")")
    op.drop_table("issue_categories")
    op.drop_column("areas", "number_prefix")
