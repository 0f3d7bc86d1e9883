"""一年10件实事: communities' annual commitment lists, their items, activities and evaluations.

Each item keeps its progress as aggregates (``done_count``, milestones' ``done_on``, rating counts),
maintained with every activity and evaluation, so the public notice reads no activity rows.

Revision ID: 0010_commitments
Revises: 0009_stats_subtree_changes
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0010_commitments"
down_revision: str | None = "0009_stats_subtree_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = [
    "commitment_activities",
    "commitment_activity_items",
    "commitment_evaluations",
    "commitment_feedback_tokens",
    "commitment_items",
    "commitment_lists",
]
seeded_downgrade: list[str] = []


def upgrade() -> None:
    op.create_table(
        "commitment_activities",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("participants", sa.Integer(), server_default="0", nullable=False),
        sa.Column("volunteers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_commitment_activities_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_commitment_activities_recorded_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_activities")),
    )
    op.create_index(op.f("ix_commitment_activities_area_id"), "commitment_activities", ["area_id"], unique=False)
    op.create_index("ix_commitment_activities_held_at_id", "commitment_activities", ["held_at", "id"], unique=False)
    op.create_table(
        "commitment_lists",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("returned_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status in ('draft','submitted','returned','approved','published','closed')",
            name=op.f("ck_commitment_lists_status_known"),
        ),
        sa.CheckConstraint("year between 2000 and 2999", name=op.f("ck_commitment_lists_year_range")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_commitment_lists_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_commitment_lists_created_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_commitment_lists_decided_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_lists")),
        sa.UniqueConstraint("area_id", "year", name="uq_commitment_lists_area_year"),
    )
    op.create_index(op.f("ix_commitment_lists_area_id"), "commitment_lists", ["area_id"], unique=False)
    op.create_index("ix_commitment_lists_created_at_id", "commitment_lists", ["created_at", "id"], unique=False)
    op.create_table(
        "commitment_items",
        sa.Column("list_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=True),
        sa.Column("budget_yuan", sa.BigInteger(), nullable=True),
        sa.Column("schedule", pg.JSONB(), nullable=True),
        sa.Column("milestones", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("done_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_done_on", sa.Date(), nullable=True),
        sa.Column("rated_satisfied", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rated_basically", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rated_dissatisfied", sa.Integer(), server_default="0", nullable=False),
        sa.Column("behind_notified", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "category in ('governance','care','service')", name=op.f("ck_commitment_items_category_known")
        ),
        sa.CheckConstraint("done_count >= 0", name=op.f("ck_commitment_items_done_count_nonnegative")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_commitment_items_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["commitment_lists.id"],
            name=op.f("fk_commitment_items_list_id_commitment_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_items")),
        sa.UniqueConstraint("list_id", "position", name="uq_commitment_items_list_position"),
    )
    op.create_index(op.f("ix_commitment_items_area_id"), "commitment_items", ["area_id"], unique=False)
    op.create_table(
        "commitment_activity_items",
        sa.Column("activity_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["commitment_activities.id"],
            name=op.f("fk_commitment_activity_items_activity_id_commitment_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["commitment_items.id"],
            name=op.f("fk_commitment_activity_items_item_id_commitment_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", "item_id", name=op.f("pk_commitment_activity_items")),
    )
    op.create_index(
        op.f("ix_commitment_activity_items_item_id"), "commitment_activity_items", ["item_id"], unique=False
    )
    op.create_table(
        "commitment_evaluations",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("rating", sa.String(length=24), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "rating in ('satisfied','basically_satisfied','dissatisfied')",
            name=op.f("ck_commitment_evaluations_rating_known"),
        ),
        sa.CheckConstraint("source in ('staff','resident')", name=op.f("ck_commitment_evaluations_source_known")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["commitment_items.id"],
            name=op.f("fk_commitment_evaluations_item_id_commitment_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_commitment_evaluations_recorded_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_evaluations")),
    )
    op.create_index(op.f("ix_commitment_evaluations_item_id"), "commitment_evaluations", ["item_id"], unique=False)
    op.create_table(
        "commitment_feedback_tokens",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["commitment_items.id"],
            name=op.f("fk_commitment_feedback_tokens_item_id_commitment_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_feedback_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_commitment_feedback_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_commitment_feedback_tokens_item_id"), "commitment_feedback_tokens", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_commitment_feedback_tokens_item_id"), table_name="commitment_feedback_tokens")
    op.drop_table("commitment_feedback_tokens")
    op.drop_index(op.f("ix_commitment_evaluations_item_id"), table_name="commitment_evaluations")
    op.drop_table("commitment_evaluations")
    op.drop_index(op.f("ix_commitment_activity_items_item_id"), table_name="commitment_activity_items")
    op.drop_table("commitment_activity_items")
    op.drop_index(op.f("ix_commitment_items_area_id"), table_name="commitment_items")
    op.drop_table("commitment_items")
    op.drop_index("ix_commitment_lists_created_at_id", table_name="commitment_lists")
    op.drop_index(op.f("ix_commitment_lists_area_id"), table_name="commitment_lists")
    op.drop_table("commitment_lists")
    op.drop_index("ix_commitment_activities_held_at_id", table_name="commitment_activities")
    op.drop_index(op.f("ix_commitment_activities_area_id"), table_name="commitment_activities")
    op.drop_table("commitment_activities")
