"""Commitments linked to the proposals that led to them (民事民提 → 一年10件实事), and photos of
activities (活动照片) kept in the attachments storage.

Revision ID: 0013_commitment_links
Revises: 0012_partitioning
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_commitment_links"
down_revision: str | None = "0012_partitioning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = ["commitment_item_proposals", "commitment_activity_photos"]
seeded_downgrade: list[str] = []


def upgrade() -> None:
    op.create_table(
        "commitment_item_proposals",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["commitment_items.id"],
            name=op.f("fk_commitment_item_proposals_item_id_commitment_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_commitment_item_proposals_proposal_id_proposals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("item_id", "proposal_id", name=op.f("pk_commitment_item_proposals")),
    )
    op.create_index(
        op.f("ix_commitment_item_proposals_proposal_id"), "commitment_item_proposals", ["proposal_id"], unique=False
    )
    op.create_table(
        "commitment_activity_photos",
        sa.Column("activity_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["commitment_activities.id"],
            name=op.f("fk_commitment_activity_photos_activity_id_commitment_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_commitment_activity_photos_uploaded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_activity_photos")),
    )
    op.create_index(
        op.f("ix_commitment_activity_photos_activity_id"), "commitment_activity_photos", ["activity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_commitment_activity_photos_activity_id"), table_name="commitment_activity_photos")
    op.drop_table("commitment_activity_photos")
    op.drop_index(op.f("ix_commitment_item_proposals_proposal_id"), table_name="commitment_item_proposals")
    op.drop_table("commitment_item_proposals")
