"""一年10件实事 and 民主协商: annual commitment lists, their items, activities and evaluations;
residents' proposals and consultation meetings with their agenda and decisions.

Each commitment keeps its progress as aggregates (``done_count``, milestones' ``done_on``, rating
counts), maintained with every activity and evaluation, so the public notice reads no activity rows.
Proposals get a trigram index over title and content, like issues, for finding similar ones.

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
    "consultation_agenda_items",
    "consultation_decisions",
    "consultations",
    "proposals",
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
        "consultations",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("convener", sa.String(length=100), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("quorum_numerator", sa.SmallInteger(), server_default="2", nullable=False),
        sa.Column("quorum_denominator", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("majority", sa.String(length=16), server_default="more_than_half", nullable=False),
        sa.Column("participants", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("majority in ('more_than_half','two_thirds')", name=op.f("ck_consultations_majority_known")),
        sa.CheckConstraint(
            "quorum_numerator between 1 and quorum_denominator", name=op.f("ck_consultations_quorum_fraction")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_consultations_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_consultations_created_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    op.create_index(op.f("ix_consultations_area_id"), "consultations", ["area_id"], unique=False)
    op.create_index("ix_consultations_created_at_id", "consultations", ["created_at", "id"], unique=False)
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
        sa.Column("decision_id", sa.UUID(), nullable=True),
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
    op.create_index(op.f("ix_commitment_items_decision_id"), "commitment_items", ["decision_id"], unique=False)
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
    op.create_table(
        "proposals",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("proposer_name", sa.String(length=100), nullable=True),
        sa.Column("supporters", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("merged_into_id", sa.UUID(), nullable=True),
        sa.Column("diary_entry_id", sa.UUID(), nullable=True),
        sa.Column("issue_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("source in ('staff','public','diary','issue')", name=op.f("ck_proposals_source_known")),
        sa.CheckConstraint(
            "status in ('open','merged','on_agenda','adopted','declined')", name=op.f("ck_proposals_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_proposals_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_proposals_created_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["diary_entry_id"],
            ["diary_entries.id"],
            name=op.f("fk_proposals_diary_entry_id_diary_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_proposals_issue_id_issues"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["proposals.id"],
            name=op.f("fk_proposals_merged_into_id_proposals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_area_id"), "proposals", ["area_id"], unique=False)
    op.create_index("ix_proposals_created_at_id", "proposals", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_proposals_diary_entry_id"), "proposals", ["diary_entry_id"], unique=False)
    op.create_index(op.f("ix_proposals_issue_id"), "proposals", ["issue_id"], unique=False)
    op.execute("CREATE INDEX ix_proposals_text_trgm ON proposals USING gin ((title || ' ' || content) gin_trgm_ops)")
    op.create_table(
        "consultation_agenda_items",
        sa.Column("consultation_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("options", pg.JSONB(), nullable=False),
        sa.Column("proposal_id", sa.UUID(), nullable=True),
        sa.Column("issue_id", sa.UUID(), nullable=True),
        sa.Column("commitment_item_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_item_id"],
            ["commitment_items.id"],
            name=op.f("fk_consultation_agenda_items_commitment_item_id_commitment_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_agenda_items_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_consultation_agenda_items_issue_id_issues"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_consultation_agenda_items_proposal_id_proposals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_agenda_items")),
        sa.UniqueConstraint("consultation_id", "position", name="uq_consultation_agenda_position"),
    )
    op.create_index(
        op.f("ix_consultation_agenda_items_proposal_id"), "consultation_agenda_items", ["proposal_id"], unique=False
    )
    op.create_table(
        "consultation_decisions",
        sa.Column("agenda_item_id", sa.UUID(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("votes", pg.JSONB(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("chosen_option", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("supersedes_id", sa.UUID(), nullable=True),
        sa.Column("commitment_item_id", sa.UUID(), nullable=True),
        sa.Column("issue_id", sa.UUID(), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "outcome in ('adopted','rejected','no_quorum')", name=op.f("ck_consultation_decisions_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["consultation_agenda_items.id"],
            name=op.f("fk_consultation_decisions_agenda_item_id_consultation_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_item_id"],
            ["commitment_items.id"],
            name=op.f("fk_consultation_decisions_commitment_item_id_commitment_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_consultation_decisions_decided_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_consultation_decisions_issue_id_issues"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["consultation_decisions.id"],
            name=op.f("fk_consultation_decisions_supersedes_id_consultation_decisions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_decisions")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_consultation_decisions_supersedes_id")),
    )
    op.create_index(
        op.f("ix_consultation_decisions_agenda_item_id"), "consultation_decisions", ["agenda_item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_consultation_decisions_agenda_item_id"), table_name="consultation_decisions")
    op.drop_table("consultation_decisions")
    op.drop_index(op.f("ix_consultation_agenda_items_proposal_id"), table_name="consultation_agenda_items")
    op.drop_table("consultation_agenda_items")
    op.drop_index("ix_proposals_text_trgm", table_name="proposals")
    op.drop_index(op.f("ix_proposals_issue_id"), table_name="proposals")
    op.drop_index(op.f("ix_proposals_diary_entry_id"), table_name="proposals")
    op.drop_index("ix_proposals_created_at_id", table_name="proposals")
    op.drop_index(op.f("ix_proposals_area_id"), table_name="proposals")
    op.drop_table("proposals")
    op.drop_index(op.f("ix_commitment_feedback_tokens_item_id"), table_name="commitment_feedback_tokens")
    op.drop_table("commitment_feedback_tokens")
    op.drop_index(op.f("ix_commitment_evaluations_item_id"), table_name="commitment_evaluations")
    op.drop_table("commitment_evaluations")
    op.drop_index(op.f("ix_commitment_activity_items_item_id"), table_name="commitment_activity_items")
    op.drop_table("commitment_activity_items")
    op.drop_index(op.f("ix_commitment_items_decision_id"), table_name="commitment_items")
    op.drop_index(op.f("ix_commitment_items_area_id"), table_name="commitment_items")
    op.drop_table("commitment_items")
    op.drop_index("ix_consultations_created_at_id", table_name="consultations")
    op.drop_index(op.f("ix_consultations_area_id"), table_name="consultations")
    op.drop_table("consultations")
    op.drop_index("ix_commitment_lists_created_at_id", table_name="commitment_lists")
    op.drop_index(op.f("ix_commitment_lists_area_id"), table_name="commitment_lists")
    op.drop_table("commitment_lists")
    op.drop_index("ix_commitment_activities_held_at_id", table_name="commitment_activities")
    op.drop_index(op.f("ix_commitment_activities_area_id"), table_name="commitment_activities")
    op.drop_table("commitment_activities")
